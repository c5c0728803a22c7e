// Plans a remap: give <user> the uid of a mounted path's owner (--match) or the ids the operator
// names (--remap), and its primary group that gid, by editing /etc/passwd and /etc/group bytes.
// Pure; apply.ts carries it out. Both options go through this one planner, so they get the same
// protections; only where the ids come from, and the messages naming it, differ.
//
// Crash safety comes from the order of the effects (re-own trees, then /etc/group, then
// /etc/passwd, each complete or not at all) and from this planner recognising a half-done job:
// if /etc/group was renumbered but /etc/passwd was not, the user's primary gid has no group
// entry left, and the plan finishes the renumbering instead of treating the new gid as a
// collision.
//
// Who owns a directory must never decide who gets privileges, so a remap:
// - never changes uid 0 or gid 0: a root-owned volume leaves the id alone, root itself (uid 0)
//   is refused, a user whose primary group is gid 0 (OpenShift) keeps it and only the uid
//   follows; group root is never renumbered;
// - never makes the user share the uid or gid of a system account without the operator's
//   explicit opt-in (systemIdRisk below);
// - never renumbers a system group (gid below 1000, or a privileged name): other accounts and
//   the image's files rely on its number; the user's primary gid moves instead.
import { fail } from '../system/errors.js';
import { refuseRootIds } from './remap-arg.js';
import { type EtcFile, GROUP_GID, NO_ID, PASSWD_GID, PASSWD_UID, parseGroup, parsePasswd, setField, shown } from '../system/etc-files.js';
import { type EtcDb, resolveIdentity, userNamed } from '../identity/resolve.js';
import type { UserSpec } from '../identity/user-spec.js';

export interface Owner {
  uid: number;
  gid: number;
}

/** The ids wanted: a path's owner, or --remap's (gid undefined: `--remap UID`, the primary gid stays). */
export interface WantedIds {
  uid: number;
  gid?: number;
}

/** Where the ids come from, for the messages: the --match path, or the --remap argument. */
export type RemapSource = { match: string } | { remap: string };

export interface RemapPolicy {
  /** --allow-system-ids / STEPDOWN_ALLOW_SYSTEM_IDS=1: the operator accepts a system account's id */
  allowSystemIds: boolean;
}

export interface RemapPlan {
  userName: string;
  home: string;
  from: Owner;
  to: Owner;
  /** The user's primary gid changes but its group keeps its number (re-own only the user's own files' group). */
  groupStays: boolean;
  /** New file contents, or undefined when that file does not change. */
  passwd?: EtcFile;
  group?: EtcFile;
  notices: string[];
}

/** Group names that carry rights in an image: reading secrets, private keys (ssl-cert reads
 * /etc/ssl/private, ssh_keys the SSH host keys) or logs, raw devices, terminals, administration,
 * container or VM control. Refused at any id. */
export const PRIVILEGED_NAMES: readonly string[] = [
  'root', 'shadow', 'ssl-cert', 'ssh_keys', 'disk', 'kmem', 'mem', 'tty', 'utmp', 'adm', 'sudo', 'wheel', 'admin', 'staff',
  'sys', 'bin', 'daemon', 'operator', 'backup', 'systemd-journal', 'docker', 'podman', 'lxd', 'libvirt', 'kvm',
  'input', 'video', 'render', 'dialout', 'uucp',
];
/** Ordinary service accounts below 1000 that data volumes are commonly owned by. */
export const ORDINARY_SYSTEM_NAMES: readonly string[] = ['www-data', 'www', 'http', 'nginx', 'apache', 'users'];
/** Below this an id with a name is a system account's (SYS_UID_MAX/SYS_GID_MAX 999 in login.defs). */
export const FIRST_ORDINARY_ID = 1000;

/** Why sharing this id with a named account or group needs the opt-in, or undefined if it does not. */
export function systemIdRisk(name: string, id: number): string | undefined {
  const text = shown(name);
  if (PRIVILEGED_NAMES.includes(text)) return `${text}, which carries rights in the image`;
  if (id < FIRST_ORDINARY_ID && !ORDINARY_SYSTEM_NAMES.includes(text)) return `${text}, a system account below ${FIRST_ORDINARY_ID}`;
  return undefined;
}

const option = (source: RemapSource) => ('match' in source ? '--match' : '--remap');
const asGiven = (source: RemapSource) => ('match' in source ? `--match ${source.match}` : `--remap ${source.remap}`);

function rootRefusal(name: string, source: RemapSource): string {
  return `${asGiven(source)} would remap ${name}, which is uid 0: a remap never changes root's ids; name a non-root user, or unset ${'match' in source ? 'STEPDOWN_MATCH' : 'STEPDOWN_REMAP'} for this command`;
}

const OPT_IN = '--allow-system-ids (STEPDOWN_ALLOW_SYSTEM_IDS=1)';

/** owner: the ids wanted (the --match path's owner, or --remap's ids). */
export function planRemap(spec: UserSpec, db: EtcDb, owner: WantedIds, source: RemapSource, policy: RemapPolicy = { allowSystemIds: false }): RemapPlan {
  if ('remap' in source) refuseRootIds(owner, `--remap ${source.remap}`); // parse-time too; never reaches the notices below
  const parsedPasswd = parsePasswd(db.passwd);
  const passwd = parsedPasswd.entries;
  const groups = parseGroup(db.group).entries;
  const u = spec.user;
  if (u.kind === 'id' && u.id === 0) fail(rootRefusal('root', source));
  if (u.kind === 'id') {
    // after the remap the uid is the volume's: a uid spec would not find the user on the next start
    const named = passwd.find((e) => e.uid === u.id);
    fail(`${option(source)} needs the user by name, not uid ${u.id}: the remap changes its uid, so the next start would not find it; ${named ? `write '${shown(named.name)}${spec.group ? spec.text.slice(spec.text.indexOf(':')) : ''}'` : 'name a user from /etc/passwd'}`);
  }
  const user = userNamed(u.name, parsedPasswd);
  if (!user) fail(`${option(source)} needs a user with an entry in /etc/passwd, and '${u.name}' has none; add the user in the image (useradd)`);
  resolveIdentity(spec, db); // a malformed entry or an unknown group fails now, before anything changes
  const name = shown(user.name);
  if (user.uid === 0) fail(rootRefusal(name, source));
  if ('remap' in source && spec.group && owner.gid !== undefined) {
    // the gid would go unused: the command runs with the spec's group, and files made on the host's volume would not get the gid asked for
    fail(`--remap ${source.remap} gives a gid, but '${spec.text}' names the group to run with: give the uid alone (--remap ${owner.uid}), or name the user alone so its primary group gets gid ${owner.gid}`);
  }
  if (user.uid === NO_ID || user.gid === NO_ID) fail(`/etc/passwd gives ${name} the id ${NO_ID}, which is (uid_t)-1 and not a usable id; fix the file`);

  const notices: string[] = [];
  const from = { uid: user.uid, gid: user.gid };
  const to = { ...from };
  const refuse = (what: string, id: number, risk: string): never =>
    'match' in source
      ? fail(`${source.match} is owned by ${what} ${id}, which is ${risk}: ${name} would get its rights; refusing. Give the volume an ordinary owner (chown), or pass ${OPT_IN} to accept it`)
      : fail(`--remap ${source.remap} asks for ${what} ${id}, which is ${risk}: ${name} would get its rights; refusing. Give the ids of an ordinary host user, or pass ${OPT_IN} to accept it`);
  const idsFrom = 'match' in source ? source.match : `--remap ${source.remap}`;

  if (owner.uid === 0) notices.push(`${idsFrom} is owned by uid 0; ${name} keeps uid ${user.uid} (stepdown never makes anyone root)`);
  else to.uid = owner.uid;

  let passwdFile = db.passwd;
  let groupFile: EtcFile | undefined;
  let groupStays = false;

  if (to.uid !== from.uid) {
    for (const other of passwd) {
      if (other.uid !== to.uid || other.name === user.name) continue;
      const risk = systemIdRisk(other.name, other.uid);
      if (risk && !policy.allowSystemIds) refuse('uid', to.uid, `the uid of ${risk}`);
    }
    const other = passwd.find((e) => e.uid === to.uid && e.name !== user.name);
    if (other) notices.push(`uid ${to.uid} already belongs to ${shown(other.name)}; ${name} now shares it (like usermod -o)`);
    passwdFile = setField(passwdFile, user.line, PASSWD_UID, String(to.uid));
  }

  // With user:group the group comes from the spec: only the uid follows the volume. With
  // `--remap UID` no gid is asked for: the primary gid and its group stay as they are.
  if (!spec.group && owner.gid !== undefined) {
    if (from.gid === 0) {
      if (owner.gid !== 0) notices.push(`${name}'s primary group is gid 0; it stays 0 and only the uid follows ${idsFrom} (a remap never changes group 0)`);
    } else if (owner.gid === 0) {
      notices.push(`${idsFrom} has gid 0; ${name} keeps gid ${user.gid} (stepdown never gives anyone group 0)`);
    } else if (owner.gid !== from.gid) {
      to.gid = owner.gid;
      const holder = groups.find((g) => g.gid === to.gid);
      const primary = groups.find((g) => g.gid === from.gid);
      if (holder && !policy.allowSystemIds) {
        const risk = groups.filter((g) => g.gid === to.gid).map((g) => systemIdRisk(g.name, g.gid)).find(Boolean);
        if (risk) refuse('gid', to.gid, `group ${risk}`);
      }
      if (!policy.allowSystemIds) {
        // a gid with no group line can still be a system account's primary group: its files
        // and processes carry that gid just the same
        for (const e of passwd) {
          const risk = e.gid === to.gid && e.name !== user.name ? systemIdRisk(e.name, e.gid) : undefined;
          if (risk) refuse('gid', to.gid, `the primary gid of ${risk}`);
        }
      }
      if (holder && primary) {
        // the new gid is another group's: join it as primary group rather than renumber anything
        notices.push(`gid ${to.gid} already belongs to group ${shown(holder.name)}; it becomes ${name}'s primary group`);
        passwdFile = setField(passwdFile, user.line, PASSWD_GID, String(to.gid));
        groupStays = true;
      } else if (primary && (primary.gid < FIRST_ORDINARY_ID || systemIdRisk(primary.name, primary.gid))) {
        // a system group keeps its number: the image's files and other accounts rely on it
        notices.push(`${name}'s primary group ${shown(primary.name)} (gid ${from.gid}) is a system group and keeps its gid; ${name}'s primary gid becomes ${to.gid}`);
        passwdFile = setField(passwdFile, user.line, PASSWD_GID, String(to.gid));
        groupStays = true;
      } else {
        // renumber the primary group (if it still has an entry: a half-done job may have done it)
        if (primary) groupFile = setField(db.group, primary.line, GROUP_GID, String(to.gid));
        for (const e of passwd) {
          if (e.gid === from.gid) passwdFile = setField(passwdFile, e.line, PASSWD_GID, String(to.gid)); // others follow the group
        }
      }
    }
  }

  const plan: RemapPlan = { userName: name, home: shown(user.home), from, to, groupStays, notices };
  if (passwdFile !== db.passwd) plan.passwd = passwdFile;
  if (groupFile) plan.group = groupFile;
  resolveIdentity(spec, { passwd: passwdFile, group: groupFile ?? db.group }); // and so does the result
  return plan;
}

export function changes(plan: RemapPlan): boolean {
  return plan.from.uid !== plan.to.uid || plan.from.gid !== plan.to.gid;
}
