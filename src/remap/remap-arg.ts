// Parses the argument of --remap (or STEPDOWN_REMAP): `UID:GID` or `UID`, decimal, with the
// user-spec's strictness (identity/user-spec.ts): no signs, blanks, names, leading zeros or
// empty parts, at most MAX_ID. The value comes from whoever starts the container (`docker run
// -e`): they choose the ids, but never root's, so uid 0 and gid 0 are refused here, before
// anything is read or changed (--match leaves a root-owned id alone instead: there the owner
// of a path chose it, not the operator).
import { MAX_ID, printable } from '../identity/user-spec.js';
import { fail } from '../system/errors.js';

export interface RemapIds {
  /** the argument as given, for messages */
  text: string;
  uid: number;
  /** undefined: `UID` alone, the user keeps its primary gid */
  gid?: number;
}

const USE = "write UID:GID or UID in decimal, the host user's ids (e.g. 1000:1000 from id -u and id -g)";

/** fromEnv: the value came from STEPDOWN_REMAP, and the messages say so. */
export function parseRemapIds(text: string, fromEnv: boolean): RemapIds {
  const shown = printable(text.length > 40 ? `${text.slice(0, 40)}…` : text);
  const where = fromEnv ? `STEPDOWN_REMAP='${shown}'` : `--remap '${shown}'`;
  const parts = text.split(':');
  if (parts.length > 2) fail(`${where}: more than one ':'; ${USE}`);
  const [uidPart = '', gidPart] = parts;
  if (uidPart === '') fail(`${where}: the uid before ':' is empty; ${USE}`);
  if (gidPart === '') fail(`${where}: the gid after ':' is empty; write '${printable(uidPart)}' to keep the user's gid, or '${printable(uidPart)}:GID'`);
  const ids: RemapIds = { text, uid: decimal(where, uidPart, 'uid') };
  if (gidPart !== undefined) ids.gid = decimal(where, gidPart, 'gid');
  refuseRootIds(ids, where);
  return ids;
}

/** uid 0 or gid 0 asked for: the message names the option as `where` does. Also the planner's guard. */
export function refuseRootIds(ids: { uid: number; gid?: number }, where: string): void {
  if (ids.uid === 0) fail(`${where}: uid 0 is root; a remap never makes anyone root: give the ids of the host user who owns the files`);
  if (ids.gid === 0) fail(`${where}: gid 0 is group root; a remap never gives anyone group 0: give the host user's own group, or UID alone to keep the user's gid`);
}

function decimal(where: string, part: string, what: 'uid' | 'gid'): number {
  if (!/^[0-9]+$/.test(part)) fail(`${where}: ${what} '${printable(part)}' is not a decimal id (no names, signs or blanks); ${USE}`);
  if (part.length > 1 && part.startsWith('0')) fail(`${where}: ${what} '${part}' has a leading zero; write it as ${Number(part)}`);
  const id = Number(part);
  if (id > MAX_ID) fail(`${where}: ${what} ${part.length > 20 ? `${part.slice(0, 20)}…` : part} is out of range 1-${MAX_ID}; ${USE}`);
  return id;
}
