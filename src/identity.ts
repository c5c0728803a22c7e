// Decides who to become: a user-spec resolved against /etc/passwd and /etc/group text.
// Pure: no syscalls, so every rule is unit-tested without root.
import { fail } from './errors.js';
import { type EtcFile, type GroupEntry, type PasswdEntry, parseGroup, parsePasswd } from './etc-files.js';
import type { IdOrName, UserSpec } from './user-spec.js';

export interface Identity {
  uid: number;
  gid: number;
  /** The exact supplementary group list to install with setgroups. */
  groups: number[];
  home: string;
  userName?: string;
  groupName?: string;
}

export interface EtcDb {
  passwd: EtcFile;
  group: EtcFile;
}

export function resolveIdentity(spec: UserSpec, db: EtcDb): Identity {
  const passwd = parsePasswd(db.passwd);
  const group = parseGroup(db.group);
  const user = findUser(spec, passwd.entries, passwd.malformed);

  if (spec.group) {
    const g = findGroup(spec, spec.group, group.entries, group.malformed);
    const uid = user ? user.uid : (spec.user as { id: number }).id;
    return withNames({ uid, gid: g.gid, groups: [g.gid], home: homeOf(user) }, user, g.name);
  }
  if (!user) {
    const id = (spec.user as { id: number }).id;
    fail(
      `uid ${id} has no entry in /etc/passwd, so it has no group; ` +
        `name the group too (e.g. '${id}:${id}') or add the user to /etc/passwd`,
    );
  }
  const groups = [user.gid];
  for (const g of group.entries) {
    if (g.members.includes(user.name) && !groups.includes(g.gid)) groups.push(g.gid);
  }
  const primary = group.entries.find((g) => g.gid === user.gid);
  return withNames({ uid: user.uid, gid: user.gid, groups, home: homeOf(user) }, user, primary?.name);
}

function withNames(id: Identity, user: PasswdEntry | undefined, groupName: string | undefined): Identity {
  if (user) id.userName = user.name;
  if (groupName !== undefined) id.groupName = groupName;
  return id;
}

function homeOf(user: PasswdEntry | undefined): string {
  return user && user.home !== '' ? user.home : '/';
}

function findUser(
  spec: UserSpec,
  entries: PasswdEntry[],
  malformed: { line: number; name: string }[],
): PasswdEntry | undefined {
  const u = spec.user;
  if (u.kind === 'id') return entries.find((e) => e.uid === u.id);
  const bad = malformed.find((m) => m.name === u.name);
  const found = entries.find((e) => e.name === u.name);
  if (bad && (!found || bad.line - 1 < found.line)) {
    fail(`/etc/passwd line ${bad.line} for user '${u.name}' is malformed (uid and gid must be numbers); fix the file`);
  }
  if (!found) {
    fail(`unknown user '${u.name}': no such name in /etc/passwd; use an existing user or a numeric 'uid:gid'`);
  }
  return found;
}

function findGroup(
  spec: UserSpec,
  g: IdOrName,
  entries: GroupEntry[],
  malformed: { line: number; name: string }[],
): { gid: number; name?: string } {
  if (g.kind === 'id') {
    const named = entries.find((e) => e.gid === g.id);
    return named ? { gid: g.id, name: named.name } : { gid: g.id };
  }
  const bad = malformed.find((m) => m.name === g.name);
  const found = entries.find((e) => e.name === g.name);
  if (bad && (!found || bad.line - 1 < found.line)) {
    fail(`/etc/group line ${bad.line} for group '${g.name}' is malformed (gid must be a number); fix the file`);
  }
  if (!found) {
    fail(`unknown group '${g.name}' in '${spec.text}': no such name in /etc/group; use an existing group or a numeric gid`);
  }
  return { gid: found.gid, name: found.name };
}
