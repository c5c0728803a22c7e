// --check: the identity a run would take, in id(1)'s shape plus the home directory.
import { namesById } from '../system/etc-files.js';
import type { EtcDb, Identity } from './resolve.js';

export function formatIdentity(id: Identity, db: EtcDb): string {
  const groupNames = namesById(db.group);
  const named = (n: number, name: string | undefined) => (name ? `${n}(${name})` : `${n}`);
  return (
    `uid=${named(id.uid, id.userName)} gid=${named(id.gid, groupNames.get(id.gid))} ` +
    `groups=${id.groups.map((g) => named(g, groupNames.get(g))).join(',')} home=${id.home}\n`
  );
}
