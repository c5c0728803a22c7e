// --group-of PATH: the gid owning a socket or device (docker.sock, /dev/kvm, /dev/dri/renderD128)
// joins the target's supplementary groups for this run. setgroups takes any gid, so /etc/group is
// never written.
//
// The operator names the path, but the gid is chosen by whoever can change what the path leads
// to. Only root may choose it: otherwise the command (the target user), or another account of
// the container, could put a symlink or hard link to /etc/shadow, /dev/sda or /dev/kmem where the
// path was before the next start and so choose group shadow, disk or kmem for the user. So the
// path is walked by hand (lstat and readlink only: nothing is opened, a FIFO cannot block) and a
// gid the target does not already have is refused unless every directory looked in on the way
// (the one holding the file, those holding every symlink followed) can be changed by root alone:
// owned by uid 0 and writable by no one but its owner. Group 0 is no exception: a user whose
// group is 0 (OpenShift's arbitrary uid, Kubernetes fsGroup: 0, Alpine's operator) can write a
// g+w directory of group 0, and a root:root 775 directory may carry an ACL granting a user write.
// The rule depends on no one's ids, so it gives the same answer before and after a remap. A
// symlink itself cannot be changed, only replaced through its directory. The file itself must be
// root's or the user's: its owner can chgrp it to any group it is in, with no directory write.
// A root target can give itself any group anyway.
import { fail } from '../system/errors.js';
import { type EtcFile, NO_ID, parseGroup, shown } from '../system/etc-files.js';
import { PRIVILEGED_NAMES } from '../remap/plan.js';
import type { Identity } from './resolve.js';

export interface FileStat {
  uid: number;
  gid: number;
  mode: number;
  isDirectory: boolean;
  isSymbolicLink: boolean;
  /** on a proc filesystem (where /proc/<pid>/fd, cwd and root are links only the kernel can follow) */
  isProcfs?: boolean;
}

/** lstat and readlink; both throw the Node error (with .code) on failure. readlink may give the
 * link's bytes (a Uint8Array), which must then be UTF-8. */
export interface PathFs {
  lstat(file: string): FileStat;
  readlink(file: string): string | Uint8Array;
}

/** A directory a name was looked up in on the way. */
export interface Looked {
  dir: string;
  uid: number;
  gid: number;
  mode: number;
}

export interface PathGroup {
  /** as the operator gave it */
  path: string;
  /** how messages name it: `--group-of PATH`, or `STEPDOWN_GROUP_OF path PATH` */
  what: string;
  /** where it led: the file whose group it is, and that file's owner */
  file: string;
  uid: number;
  gid: number;
  looked: Looked[];
}

/** Linux's limit on symlinks followed in one lookup (MAXSYMLINKS). */
const MAX_LINKS = 40;
/** Linux's limit on a path given to a system call, its terminating NUL included (PATH_MAX). */
const PATH_MAX = 4096;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The group of the file at `file`, resolved as the kernel would (symlinks followed, '..' after a
 * symlink taken from where it led), with every directory a name was looked up in. Only lstat and
 * readlink. Relative paths start at `cwd`.
 */
export function walkPath(file: string, cwd: string, fsx: PathFs, what = `--group-of ${file}`): PathGroup {
  // the command opens the path as given: the kernel refuses it whole, before any lookup
  if (Buffer.byteLength(file) >= PATH_MAX) fail(`${what}: cannot look it up: ENAMETOOLONG`);
  const looked: Looked[] = [];
  const seen = new Set<string>();
  let pending = names(file.startsWith('/') ? file : `${cwd}/${file}`);
  let current = '/';
  let last = statOr(fsx, '/', what, '/');
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === '.') continue;
    if (name === '..') {
      current = current.slice(0, current.lastIndexOf('/')) || '/';
      last = statOr(fsx, current, what, current);
      continue;
    }
    if (!seen.has(current)) {
      seen.add(current);
      looked.push({ dir: current, uid: last.uid, gid: last.gid, mode: last.mode });
    }
    const next = current === '/' ? `/${name}` : `${current}/${name}`;
    const st = statOr(fsx, next, what, next);
    // /proc/<pid>/fd/N, cwd, root and exe are links the kernel follows to the open file itself,
    // not to the name readlink shows (which may be '(deleted)', 'socket:[…]' or another mount's)
    if (st.isProcfs === true) fail(`${what}: it leads into /proc (at ${next}), whose links the walk cannot follow as the kernel does; name the socket or device itself`);
    if (st.isSymbolicLink) {
      if (++links > MAX_LINKS) fail(`${what}: more than ${MAX_LINKS} symbolic links on the way (a loop?); name the file itself`);
      let read: string | Uint8Array;
      try {
        read = fsx.readlink(next);
      } catch (err) {
        return notFound(what, next, err);
      }
      // a name decoded with U+FFFD in place of its bad bytes is another file than the kernel reaches
      let to: string;
      try {
        to = typeof read === 'string' ? read : utf8.decode(read);
      } catch {
        fail(`${what}: ${next} is a symbolic link to a name that is not UTF-8; name the file itself`);
      }
      if (to === '') fail(`${what}: ${next} is an empty symbolic link; name the file itself`);
      if (to.startsWith('/')) {
        current = '/';
        last = statOr(fsx, '/', what, '/');
      }
      // a target ending in '/' must lead to a directory, as one ending in '/.' does
      pending = [...names(to), ...(to.endsWith('/') ? ['.'] : []), ...pending];
      continue;
    }
    if (pending.length > 0 && !st.isDirectory) fail(`${what}: ${next} is not a directory`);
    current = next;
    last = st;
  }
  if (file.endsWith('/') && !last.isDirectory) fail(`${what}: ${current} is not a directory`);
  return { path: file, what, file: current, uid: last.uid, gid: last.gid, looked };
}

/** How to give up the path, where it came from. */
function leaveOut(what: string): string {
  return what.startsWith('--group-of') ? 'leave out --group-of' : 'remove it from STEPDOWN_GROUP_OF';
}

function names(p: string): string[] {
  return p.split('/').filter((n) => n !== '');
}

function statOr(fsx: PathFs, file: string, what: string, component: string): FileStat {
  try {
    return fsx.lstat(file);
  } catch (err) {
    return notFound(what, component, err);
  }
}

function notFound(what: string, component: string, err: unknown): never {
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : String(err);
  const where = what.endsWith(` ${component}`) ? '' : ` (at ${component})`;
  if (code === 'ENOENT') fail(`${what}: no such file or directory${where}; mount the socket or device there, or ${leaveOut(what)}`);
  fail(`${what}: cannot look it up${where}: ${code}`);
}

/** The groups of the image a gid must not join by accident (a host gid that happens to be the
 * image's shadow or disk): PRIVILEGED_NAMES less the groups that exist to reach a device or a
 * daemon's socket, which are what --group-of is for. */
const DEVICE_GROUPS = ['docker', 'podman', 'lxd', 'libvirt', 'kvm', 'input', 'video', 'render', 'dialout', 'uucp'];
export const GROUP_OF_REFUSED: readonly string[] = PRIVILEGED_NAMES.filter((n) => !DEVICE_GROUPS.includes(n));

export interface GroupOfContext {
  /** running as root (a drop follows); otherwise already the target (pass-through: the caller
   * has made sure with decideDrop, so a process of another uid gets that refusal instead) */
  root: boolean;
  /** pass-through: the groups this process holds (its Groups line and gid) */
  held: number[];
  group: EtcFile;
  allowSystemIds: boolean;
}

/**
 * Pure: the target with the gids of `found` added to its groups (each once), or the refusal.
 * A gid the target already has grants nothing, so it is taken whatever the path.
 */
export function addGroupsOf(target: Identity, found: PathGroup[], ctx: GroupOfContext): Identity {
  // not root: only what the process holds reaches the command (a gid /etc/group lists for the
  // user but the runtime did not give the process is not held)
  const has = new Set(ctx.root ? target.groups : ctx.held);
  for (const f of found) {
    if (f.gid === 0) fail(`${f.what}: its group is gid 0 (root), and stepdown never adds root's group; give the file a group of its own (chgrp on the host), or ${leaveOut(f.what)}`);
    if (f.gid === NO_ID) fail(`${f.what}: its group is gid ${NO_ID}, which is (gid_t)-1 and not a usable gid`);
  }
  const added = [...new Set(found.map((f) => f.gid).filter((g) => !has.has(g)))];
  if (added.length === 0) return target;
  if (!ctx.root) {
    const f = found.find((x) => x.gid === added[0])!;
    const list = added.join(', ');
    fail(
      `${f.what}: already running as uid ${target.uid} gid ${target.gid}, without gid ${list}, and a process that is not root cannot add groups; ` +
        `add it to the pod spec (securityContext.supplementalGroups: [${list}]) or run with docker run ${added.map((g) => `--group-add ${g}`).join(' ')}, or start the container as root`,
    );
  }
  const groups = parseGroup(ctx.group).entries;
  for (const f of found) {
    if (has.has(f.gid)) continue;
    if (target.uid !== 0) {
      for (const d of f.looked) {
        const why =
          d.uid !== 0 ? `is owned by uid ${d.uid}` :
          d.mode & 0o002 ? 'is writable by everyone' :
          d.mode & 0o020 ? `is writable by its group ${d.gid}` : undefined;
        if (why === undefined) continue;
        fail(
          `${f.what}: ${d.dir} ${why}, so an account other than root could put a link to any file there and choose the group the user gets; ` +
            `bind-mount the socket or device under a root-owned directory such as /run or /dev, or give the user gid ${f.gid} in /etc/group`,
        );
      }
    }
    if (target.uid !== 0 && f.uid !== 0 && f.uid !== target.uid) {
      fail(
        `${f.what}: ${f.file} is owned by uid ${f.uid}, which can chgrp it to any group it is in and so choose the group the user gets; ` +
          `chown root the socket or device on the host, or give the user gid ${f.gid} in /etc/group`,
      );
    }
    // every name the gid has: a harmless first line must not hide a later 'shadow' of the same gid
    const name = groups.filter((g) => g.gid === f.gid).map((g) => shown(g.name)).find((n) => GROUP_OF_REFUSED.includes(n));
    if (name !== undefined && !ctx.allowSystemIds) {
      fail(`${f.what}: its group is gid ${f.gid}, which is '${name}' in this image's /etc/group and carries rights here; if that group is meant, add --allow-system-ids (STEPDOWN_ALLOW_SYSTEM_IDS=1)`);
    }
  }
  return { ...target, groups: [...target.groups, ...added] };
}
