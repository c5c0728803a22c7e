// Decides who to become: a user-spec resolved against /etc/passwd and /etc/group text.
// Pure: no syscalls, so every rule is unit-tested without root.
import { isUtf8 } from 'node:buffer';
import { fail, showBytes } from '../system/errors.js';
import { type EtcFile, type GroupEntry, type Malformed, NO_ID, type PasswdEntry, fromArgv, parseGroup, parsePasswd, shown } from '../system/etc-files.js';
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
  // a name is looked up in the lines holding it only; an id, or the groups listing a user, in all
  const passwd = parsePasswd(db.passwd, spec.user.kind === 'name' ? fromArgv(spec.user.name) : undefined);
  const user = findUser(spec, passwd.entries, passwd.malformed);

  if (spec.group) {
    const group = parseGroup(db.group, spec.group.kind === 'name' ? fromArgv(spec.group.name) : undefined);
    const g = findGroup(spec, spec.group, group.entries, group.malformed);
    const uid = user ? user.uid : (spec.user as { id: number }).id;
    usable(g.gid, 'gid', `group '${g.name ?? g.gid}'`, '/etc/group');
    return withNames({ uid, gid: g.gid, groups: [g.gid], home: homeOf(user) }, user, g.name);
  }
  if (!user) {
    const id = (spec.user as { id: number }).id;
    fail(
      `uid ${id} has no entry in /etc/passwd, so it has no group; ` +
        `name the group too (e.g. '${id}:${id}') or add the user to /etc/passwd`,
    );
  }
  usable(user.gid, 'gid', `user '${shown(user.name)}'`, '/etc/passwd');
  const group = parseGroup(db.group);
  const groups = groupsOf(user, group.entries);
  const primary = group.entries.find((g) => g.gid === user.gid && !isCompat(g.name));
  return withNames({ uid: user.uid, gid: user.gid, groups, home: homeOf(user) }, user, primary?.name);
}

/** The user's primary gid, then each group listing it, in file order, no duplicates; linear in
 * the size of /etc/group, however many groups list the user. (A loop of its own: V8 compiles a
 * function whose loop runs long, and this one is small.) */
function groupsOf(user: PasswdEntry, entries: GroupEntry[]): number[] {
  const groups = [user.gid];
  const seen = new Set(groups);
  for (const g of entries) {
    if (seen.has(g.gid) || !g.members.includes(user.name)) continue;
    usable(g.gid, 'gid', `group '${shown(g.name)}' (which lists ${shown(user.name)})`, '/etc/group');
    seen.add(g.gid);
    groups.push(g.gid);
  }
  return groups;
}

/** (uid_t)-1 means "leave unchanged" to setresuid/setgroups: a file that gives it is refused. */
function usable(id: number, what: 'uid' | 'gid', whose: string, file: string): void {
  if (id === NO_ID) fail(`${file} gives ${whose} ${what} ${NO_ID}, which is (${what === 'uid' ? 'uid_t' : 'gid_t'})-1 and not a usable id; fix the file`);
}

function withNames(id: Identity, user: PasswdEntry | undefined, groupName: string | undefined): Identity {
  if (user) id.userName = shown(user.name);
  if (groupName !== undefined) id.groupName = shown(groupName);
  return id;
}

/**
 * HOME for the command. process.execve takes UTF-8 strings, so a home whose bytes are not UTF-8
 * (a Latin-1 '/home/caf\xe9') would reach the command altered: refused instead.
 */
function homeOf(user: PasswdEntry | undefined): string {
  if (!user || user.home === '') return '/';
  const bytes = Buffer.from(user.home, 'latin1');
  if (!isUtf8(bytes)) {
    fail(
      `/etc/passwd line ${user.line + 1} gives user '${shown(user.name)}' the home ${showBytes(bytes)}, which is not UTF-8, ` +
        `so HOME cannot be passed exactly; rename the directory and fix the file`,
    );
  }
  return bytes.toString('utf8');
}

/**
 * NIS compat lines ('+name', '-name', '+', '+@netgroup'): glibc's files backend never returns
 * them from getpwnam/getpwuid/getgrnam/getgrgid (a name asked for that starts with '+' or '-'
 * matches nothing, and an entry whose name does is skipped by id), so '+nis:x:1500:0:…' before
 * 'ops:x:1500:…' does not make uid 1500 take gid 0. Its initgroups does read their member lists
 * (measured with id(1)), so group membership below keeps them, as glibc does.
 */
function isCompat(name: string): boolean {
  return name.startsWith('+') || name.startsWith('-');
}

/**
 * The /etc/passwd entry for a user name given on the command line, or undefined when it has
 * none; fails when a malformed line for the name comes first (the C library would stop there).
 * The one lookup by name: the run and the remap both use it.
 */
export function userNamed(argvName: string, passwd: { entries: PasswdEntry[]; malformed: Malformed[] }): PasswdEntry | undefined {
  const name = fromArgv(argvName);
  if (isCompat(name)) return undefined;
  const found = passwd.entries.find((e) => e.name === name);
  const bad = passwd.malformed.find((m) => m.name === name);
  if (bad && found && bad.line - 1 < found.line) fail(malformedUser(bad.line, argvName));
  return found;
}

function malformedUser(line: number, argvName: string): string {
  return `/etc/passwd line ${line} for user '${argvName}' is malformed (uid and gid must be numbers); fix the file`;
}

function findUser(
  spec: UserSpec,
  entries: PasswdEntry[],
  malformed: Malformed[],
): PasswdEntry | undefined {
  const u = spec.user;
  if (u.kind === 'id') return entries.find((e) => e.uid === u.id && !isCompat(e.name));
  const found = userNamed(u.name, { entries, malformed });
  if (!found) {
    const bad = isCompat(fromArgv(u.name)) ? undefined : malformed.find((m) => m.name === fromArgv(u.name));
    if (bad) fail(malformedUser(bad.line, u.name));
    fail(`unknown user '${u.name}': no such name in /etc/passwd; use an existing user or a numeric 'uid:gid'`);
  }
  usable(found.uid, 'uid', `user '${u.name}'`, '/etc/passwd');
  return found;
}

function findGroup(
  spec: UserSpec,
  g: IdOrName,
  entries: GroupEntry[],
  malformed: Malformed[],
): { gid: number; name?: string } {
  if (g.kind === 'id') {
    const named = entries.find((e) => e.gid === g.id && !isCompat(e.name));
    return named ? { gid: g.id, name: named.name } : { gid: g.id };
  }
  const name = fromArgv(g.name);
  const bad = isCompat(name) ? undefined : malformed.find((m) => m.name === name);
  const found = isCompat(name) ? undefined : entries.find((e) => e.name === name);
  if (bad && (!found || bad.line - 1 < found.line)) {
    fail(`/etc/group line ${bad.line} for group '${g.name}' is malformed (gid must be a number); fix the file`);
  }
  if (!found) {
    fail(`unknown group '${g.name}' in '${spec.text}': no such name in /etc/group; use an existing group or a numeric gid`);
  }
  return { gid: found.gid, name: found.name };
}
