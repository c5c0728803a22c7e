// --check: the identity a run would take, in id(1)'s shape plus the home directory.
import { printable } from '../system/errors.js';
import { namesById } from '../system/etc-files.js';
import type { EtcDb, Identity } from './resolve.js';

/** --check's one line. Names and the home come from /etc files: control bytes are escaped so
 * the output stays one line and cannot drive a terminal. */
export function formatIdentity(id: Identity, db: EtcDb): string {
  const groupNames = namesById(db.group, new Set([id.gid, ...id.groups]));
  const named = (n: number, name: string | undefined) => (name ? `${n}(${printable(name)})` : `${n}`);
  return (
    `uid=${named(id.uid, id.userName)} gid=${named(id.gid, groupNames.get(id.gid))} ` +
    `groups=${id.groups.map((g) => named(g, groupNames.get(g))).join(',')} home=${printable(id.home)}\n`
  );
}
