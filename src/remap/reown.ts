// Re-owns file trees after a uid/gid remap: every entry under each root whose uid is `from.uid`
// gets `to.uid`, and independently every entry whose gid is `from.gid` gets `to.gid` (requiring
// both to match, as fixuid does, would strand olduid:othergid files).
//
// Rules, and why:
// - The walk works inside each directory it visits: it chdirs into it and lstats, lchowns and
//   lists entries by their own name. Node has no fstatat/fchownat/fchdir, and a full path per
//   entry fails past PATH_MAX (a tree can be deeper than any path the kernel accepts, as
//   `chown -R` handles), costs a lookup of every component, and lets a directory swapped for a
//   symlink anywhere above redirect the call. So: after entering a directory (and after every
//   `..` back out) the walk checks that '.' has the dev/ino it lstat'ed; a mismatch means the tree
//   changed under it: that directory is reported, not walked, and the walk climbs back to where it
//   was by dev/ino-checked steps from the root. process.chdir takes only strings: a directory
//   whose name is not UTF-8 is entered through an O_PATH|O_NOFOLLOW fd and /proc/self/fd/<fd>
//   (without /proc such a directory is reported, not walked).
// - The process cwd is the caller's whenever the walk is not running: it is put back before every
//   turn of the event loop, on return, on abort and on error (through an O_PATH fd of the caller's
//   cwd if its path no longer leads there), and the walk re-enters where it was afterwards. The
//   exec'd program inherits the cwd; signal handlers and timers never see a foreign one.
// - lchown only: a symlink is re-owned itself, its target never. A root that is a symlink is
//   re-owned and not followed.
// - Never leave the root's filesystem. An entry whose st_dev differs from the root's, or whose
//   path is a mount point (bind mounts share st_dev, so /proc/self/mountinfo is read too, or the
//   caller's `mounts` list), is neither re-owned nor descended. A root that is itself a mount
//   point is walked: listing a volume explicitly is how a caller asks for it.
// - chown(2) clears S_ISUID/S_ISGID on regular files (and drops file capabilities, which we can
//   not restore: Node has no xattr API). Such files are re-owned through an O_NOFOLLOW fd whose
//   dev/ino is checked against the lstat, and their original mode is put back with fchmod; no
//   bit that was not there is ever added. Always synchronously: they are few.
// - Per-entry failures (EACCES, ENOENT from races, a directory that cannot be entered, ...) go to
//   `errors`, and the walk continues; an entry is reported only if it did not end up re-owned with
//   its mode intact (or, for a directory, walked). A root that does not exist is skipped silently. A root resolving to
//   `/` throws.
// - Synchronous calls in slices of SLICE_MS, after each of which the event loop turns
//   (setImmediate) so signal handlers, timers and the abort run: on a local file system an lstat
//   or a chown costs less than a hand-off to libuv's threadpool. Where chown is slow (overlayfs
//   copies the file up on every chown of an image file; FUSE; network file systems: SLOW_FS, by
//   statfs f_type of the root), or if the first 256 synchronous chowns averaged more than
//   SLOW_CHOWN_MS, chowns of entries that are not set-id go to the threadpool instead,
//   POOL_IN_FLIGHT at a time, so copy-ups run in parallel and a large one never holds the main
//   thread. A pooled chown cannot use a name relative to the cwd (the walk moves on while it
//   waits in the pool) nor a full path (see above): it names the entry as
//   /proc/self/fd/<O_PATH fd of its directory>/<name>, which the kernel resolves through the open
//   directory itself. Without /proc, chowns stay synchronous. UV_THREADPOOL_SIZE is left alone
//   (it only works before anything used the pool, and leaks into the exec'd program's
//   environment). Memory: the names of the directories on the current path; fds: one per
//   directory with pooled chowns in flight.
// - Abort: once `signal` aborts, no new operation starts; the walk notices at the end of the
//   current slice (at most ~SLICE_MS plus one entry). Pooled chowns already handed to the kernel
//   get up to ABORT_GRACE_MS to land, then the promise REJECTS with a ReownAbortedError (name
//   'AbortError', code 'ABORT_ERR', `cause` = signal.reason) whose `partial` holds the counts so
//   far.
// - onProgress is called between two slices (with the caller's cwd), at most every
//   progressEveryMs (never at the end: the result carries the final counts). If it throws, the
//   walk stops and rejects with it.
// - scanned counts entries whose ownership was examined (lstat succeeded, not across a mount);
//   changed counts successful re-owns. If from equals to, nothing can change: no walk at all.
// - Never prints, never touches process.stdout/stderr/stdin (O_NONBLOCK would leak past exec).
//
// Known limit: between the lstat of an entry and its lchown, another process that owns the tree
// could replace the entry (a hard link to someone else's file, where protected_hardlinks is off).
// At container start nothing else runs in the tree; do not run this against a tree being modified.
import * as fs from 'node:fs';
import { isUtf8 } from 'node:buffer';
import * as path from 'node:path';
import { getSystemErrorMessage } from 'node:util';
import { errnoCode } from '../system/errors.js';
import { mountKey, readMountPoints } from './mount-points.js';

export { mountKey, parseMountInfo, readMountPoints } from './mount-points.js';

export interface ReownRequest {
  roots: string[];
  from: { uid: number; gid: number };
  to: { uid: number; gid: number };
  /** The group keeps its number (a system group, or the user joined another group as primary):
   * other accounts still own files with from.gid, so only entries of the user itself (uid from.uid
   * or to.uid) change group. Default false: the whole group was renumbered and every file follows. */
  groupStays?: boolean;
}
export interface ReownProgress {
  scanned: number;
  changed: number;
}
export interface ReownResult {
  scanned: number;
  changed: number;
  errors: { path: string; message: string }[];
  seconds: number;
}
export interface ReownOptions {
  signal?: AbortSignal;
  onProgress?: (p: ReownProgress) => void;
  progressEveryMs?: number;
  /** Mount points to avoid; default: those in /proc/self/mountinfo. */
  mounts?: string[];
}

/** Synchronous work between two turns of the event loop (signals, timers, the abort). */
const SLICE_MS = 10;
/** If the first 256 synchronous chowns averaged more than this (copy-ups, round trips), pool the rest. */
const SLOW_CHOWN_MS = 0.25;
/** Chowns in flight through libuv's threadpool when pooled (overlayfs and other slow chowns). */
const POOL_IN_FLIGHT = 64;
/** After an abort, how long in-flight pooled chowns may take to land before we reject anyway. */
const ABORT_GRACE_MS = 200;
/** statfs f_type of file systems where chown is slow: copy-up, FUSE, network. */
const OVERLAYFS = 0x794c7630;
const SLOW_FS = new Set([
  OVERLAYFS, // every chown of a lower file copies it up
  0x65735546, // FUSE (fuse-overlayfs, sshfs, ...)
  0x6969, // NFS
  0xff534d42, // CIFS
  0xfe534d42, // SMB2
  0x01021997, // 9p
  0x00c36400, // ceph
]);

export class ReownAbortedError extends Error {
  readonly code = 'ABORT_ERR';
  constructor(
    readonly partial: ReownResult,
    cause: unknown,
  ) {
    super('re-owning was aborted', { cause });
    this.name = 'AbortError';
  }
}

export function reownTrees(req: ReownRequest, opts: ReownOptions = {}): Promise<ReownResult> {
  return reownTreesTuned(req, opts, {});
}

/** How chowns are issued: for tests and bench/reown/variants.mjs, which compare the strategies. */
export interface ReownTuning {
  /** 'auto' (default): 'pool' on SLOW_FS or once chowns are slow, else 'sync'. */
  chowns?: 'auto' | 'sync' | 'pool';
  /** Pooled chowns in flight at once (default POOL_IN_FLIGHT). */
  inFlight?: number;
  /** Synchronous work between two turns of the event loop (default SLICE_MS; 0: one entry). */
  sliceMs?: number;
}

/** reownTrees with the strategy as a parameter (see ReownTuning). */
export async function reownTreesTuned(
  req: ReownRequest,
  opts: ReownOptions,
  tuning: ReownTuning,
): Promise<ReownResult> {
  for (const id of [req.from.uid, req.from.gid, req.to.uid, req.to.gid]) {
    if (!Number.isInteger(id) || id < 0 || id >= 0xffffffff) throw new RangeError(`invalid id ${id}`);
  }
  for (const root of req.roots) if (path.resolve(root) === '/') throw new Error('refusing to re-own "/"');
  const w = new Walk(req, opts, tuning);
  if (req.from.uid !== req.to.uid || req.from.gid !== req.to.gid) {
    const mounts = opts.mounts ? opts.mounts.map((m) => path.resolve(m)) : readMountPoints();
    const home = new Cwd();
    try {
      for (const given of req.roots) {
        const root = w.canonicalRoot(given);
        if (root !== undefined) await w.tree(root, mounts, home);
      }
    } finally {
      home.close();
    }
  }
  return w.result();
}

type FsPath = string | Buffer;
const SLASH = Buffer.from('/');
/** Linux's O_PATH (the same on x64 and arm64): a handle on a directory without reading it. */
const O_PATH = 0o10000000;
const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = fs.constants;
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The caller's working directory: where the process is put back whenever the walk pauses. */
class Cwd {
  private readonly path: string | undefined;
  private readonly fd: number;
  private readonly st: fs.Stats;

  constructor() {
    try {
      this.path = process.cwd();
    } catch {
      this.path = undefined; // removed or unreachable: the fd still leads there
    }
    this.fd = fs.openSync('.', O_PATH | O_DIRECTORY);
    this.st = fs.fstatSync(this.fd);
  }

  /** chdir back to it, by path if that still leads there, else through the fd. */
  restore(): void {
    for (const to of [this.path, `/proc/self/fd/${this.fd}`]) {
      if (to === undefined) continue;
      try {
        process.chdir(to);
        if (sameFile(fs.statSync('.'), this.st)) return;
      } catch {
        // try the next way back
      }
    }
    throw new Error(`re-owning could not return to the working directory ${this.path ?? ''}`);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** A directory being walked; the process is inside the top one while the walk runs (the bottom one stands for the caller's cwd). */
interface Frame {
  /** Its name in the parent, or the root's absolute path. */
  name: FsPath;
  /** Its absolute path (possibly longer than PATH_MAX): for messages and mount keys. */
  path: FsPath;
  dev: number;
  ino: number;
  /** Entries not visited yet. */
  names: FsPath[];
  /** Whether some mount point is an entry of this directory. */
  mounts: boolean;
  /** O_PATH fd that pooled chowns name their entry through, open while any is in flight. */
  fd: number;
  pending: number;
  left: boolean;
}

/** Thrown when the walk cannot get back into the directory it was walking. */
class Lost extends Error {}

class Walk {
  private scanned = 0;
  private changed = 0;
  private readonly errors: { path: string; message: string }[] = [];
  private readonly every: number;
  private readonly started = performance.now();
  private lastProgress = this.started;
  private failure: { error: unknown } | undefined;
  /** Pooled operations not yet landed, and the waiter to wake when one lands. */
  private inFlight = 0;
  private wake: (() => void) | undefined;
  private readonly nudge = (): void => {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  };
  private procFd: boolean | undefined;

  constructor(
    private readonly req: ReownRequest,
    private readonly opts: ReownOptions,
    private readonly tuning: ReownTuning,
  ) {
    this.every = opts.progressEveryMs ?? 250;
  }

  result(): ReownResult {
    const seconds = (performance.now() - this.started) / 1000;
    return { scanned: this.scanned, changed: this.changed, errors: [...this.errors], seconds };
  }

  /**
   * The root with its parent directory's symlinks resolved (mountinfo lists canonical paths), its
   * own last component kept as is (it is never followed). undefined: skip it (missing, or error).
   */
  canonicalRoot(root: string): string | undefined {
    const abs = path.resolve(root);
    try {
      const parent = fs.realpathSync.native(path.dirname(abs));
      return parent === '/' ? abs.slice(abs.lastIndexOf('/')) : `${parent}/${path.basename(abs)}`;
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') this.error(abs, err);
      return undefined;
    }
  }

  private stopped(): boolean {
    return this.failure !== undefined || this.opts.signal?.aborted === true;
  }

  /** Resolves when a pooled operation lands, the signal aborts, or after `ms`. */
  private landing(ms?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(this.nudge, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Walks one root; resolves when done, rejects on abort or a throwing onProgress. */
  async tree(root: string, allMounts: string[], home: Cwd): Promise<void> {
    const { signal } = this.opts;
    if (signal?.aborted) throw new ReownAbortedError(this.result(), signal.reason);
    const under = root + '/';
    const underBytes = '\0' + Buffer.from(under).toString('latin1');
    const mountsUnder = allMounts.filter((m) => m.startsWith(under) || m.startsWith(underBytes));
    const mounts = new Set(mountsUnder);
    const mountDirs = new Set(mountsUnder.map(parentKey));
    const { chowns = 'auto', inFlight: maxInFlight = POOL_IN_FLIGHT, sliceMs = SLICE_MS } = this.tuning;
    let pooled = (chowns === 'pool' || (chowns === 'auto' && onSlowFs(root))) && this.procFdWorks();
    let syncChowns = 0;
    let syncChownMs = 0;

    let st: fs.Stats;
    try {
      st = fs.lstatSync(root);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') this.error(root, err);
      return;
    }
    const rootDev = st.dev;
    // overlayfs whose layers are on different file systems reports a non-directory's st_dev from
    // the layer that holds it, never the overlay's (only directories report the overlay's), so
    // there st_dev would skip every file as "another filesystem". Under an overlay only
    // directories are compared by st_dev; a non-directory can only be on another file system as
    // a bind-mounted file, which mountinfo lists.
    const nonDirsByDev = !onFsType(root, OVERLAYFS);
    this.scanned++;
    this.reown(root, undefined, st);
    if (!st.isDirectory()) return;

    // The bottom frame stands for the caller's cwd: the root is entered as an entry of it.
    const frames: Frame[] = [{ name: '', path: '', dev: -1, ino: -1, names: [], mounts: false, fd: -1, pending: 0, left: false }];
    signal?.addEventListener('abort', this.nudge);
    try {
      try {
        this.enter(frames, root, st, mountDirs);
        let deadline = performance.now() + sliceMs;
        while (frames.length > 1 && !this.stopped()) {
          if (this.inFlight >= maxInFlight) {
            await this.pause(frames, home, () => this.landing());
            deadline = performance.now() + sliceMs;
            continue;
          }
          const dir = frames.at(-1)!;
          const name = dir.names.pop();
          if (name === undefined) {
            this.leave(frames);
            continue;
          }

          // One entry: lstat, maybe re-own, maybe enter.
          let st: fs.Stats | undefined;
          try {
            st = fs.lstatSync(name);
          } catch (err) {
            this.error(join(dir.path, name), err);
          }
          if (st !== undefined && (st.dev === rootDev || (!nonDirsByDev && !st.isDirectory())) && !(dir.mounts && mounts.has(mountKey(join(dir.path, name))))) {
            this.scanned++;
            if (pooled && !keepsMode(st)) this.reownPooled(dir, name, st);
            else {
              const t = syncChowns < 256 ? performance.now() : 0;
              if (this.reown(name, dir, st) && syncChowns < 256) {
                syncChownMs += performance.now() - t;
                if (++syncChowns === 256 && chowns === 'auto' && syncChownMs > 256 * SLOW_CHOWN_MS) pooled = this.procFdWorks();
              }
            }
            if (st.isDirectory()) this.enter(frames, name, st, mountDirs);
          }

          if (performance.now() >= deadline) {
            await this.pause(frames, home, turn);
            deadline = performance.now() + sliceMs;
          }
        }
      } catch (err) {
        if (!(err instanceof Lost)) throw err;
      }
      for (const f of frames) this.release(f);
      home.restore();
      // Pooled chowns cannot be recalled; wait for them so the counts are exact, but after an
      // abort never let a slow one (a large copy-up) hold the rejection back.
      const until = this.stopped() ? performance.now() + ABORT_GRACE_MS : Infinity;
      while (this.inFlight > 0 && performance.now() < until) {
        await this.landing(until === Infinity ? undefined : until - performance.now());
      }
    } finally {
      signal?.removeEventListener('abort', this.nudge);
      for (const f of frames) this.release(f);
      home.restore();
    }
    if (this.failure) throw this.failure.error;
    if (signal?.aborted) throw new ReownAbortedError(this.result(), signal.reason);
  }

  /** The uid to lchown an entry to (-1: keep it). */
  private uidFor(st: fs.Stats): number {
    return st.uid === this.req.from.uid && st.uid !== this.req.to.uid ? this.req.to.uid : -1;
  }

  /** The gid to lchown an entry to (-1: keep it). */
  private gidFor(st: fs.Stats): number {
    if (st.gid !== this.req.from.gid || st.gid === this.req.to.gid) return -1;
    if (this.req.groupStays && st.uid !== this.req.from.uid && st.uid !== this.req.to.uid) return -1;
    return this.req.to.gid;
  }

  /**
   * Re-owns one entry of `dir` (the cwd) by name if its ids call for it, or the root (dir
   * undefined) by its absolute path. Returns whether a chown was attempted.
   */
  private reown(p: FsPath, dir: Frame | undefined, st: fs.Stats): boolean {
    const uid = this.uidFor(st);
    const gid = this.gidFor(st);
    if (uid === -1 && gid === -1) return false;
    if (!keepsMode(st)) {
      try {
        fs.lchownSync(p, uid, gid);
        this.changed++;
      } catch (err) {
        this.error(dir ? join(dir.path, p) : p, err);
      }
      return true;
    }
    // chown clears S_ISUID/S_ISGID: re-own through an fd that is the lstat'ed file, then fchmod.
    let fd: number;
    try {
      fd = fs.openSync(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch (err) {
      this.error(dir ? join(dir.path, p) : p, err);
      return true;
    }
    try {
      if (!sameFile(fs.fstatSync(fd), st)) throw new Error('replaced during the walk; left alone');
      fs.fchownSync(fd, uid, gid);
      this.changed++;
      fs.fchmodSync(fd, st.mode & 0o7777);
    } catch (err) {
      this.error(dir ? join(dir.path, p) : p, err);
    } finally {
      fs.closeSync(fd);
    }
    return true;
  }

  /** Re-owns an entry through the threadpool, naming it through an fd of its directory. */
  private reownPooled(dir: Frame, name: FsPath, st: fs.Stats): void {
    const uid = this.uidFor(st);
    const gid = this.gidFor(st);
    if (uid === -1 && gid === -1) return;
    if (dir.fd < 0) {
      // The cwd was checked against the frame when it was entered or got back to; the fd is
      // checked again, so a chown never resolves its name through any directory but the
      // lstat'ed one, whatever the tree's owner renames meanwhile.
      let fd = -1;
      try {
        fd = fs.openSync('.', O_PATH | O_DIRECTORY | O_NOFOLLOW);
        if (!sameFile(fs.fstatSync(fd), dir)) throw new Error('moved during the walk; left alone');
      } catch (err) {
        if (fd >= 0) fs.closeSync(fd);
        this.error(join(dir.path, name), err);
        return;
      }
      dir.fd = fd;
    }
    const via = typeof name === 'string' ? `/proc/self/fd/${dir.fd}/${name}` : Buffer.concat([Buffer.from(`/proc/self/fd/${dir.fd}/`), name]);
    this.inFlight++;
    dir.pending++;
    fs.lchown(via, uid, gid, (err) => {
      if (err) this.error(join(dir.path, name), err);
      else this.changed++;
      this.inFlight--;
      dir.pending--;
      if (dir.left) this.release(dir);
      this.nudge();
    });
  }

  /**
   * chdir into the directory entry `name` of the top frame (the root: its absolute path) and
   * push its frame. If that fails, or '.' is not what was lstat'ed, reports it and gets back.
   */
  private enter(frames: Frame[], name: FsPath, st: fs.Stats, mountDirs: Set<string>): void {
    const where = frames.length === 1 ? name : join(frames.at(-1)!.path, name);
    try {
      chdirTo(name);
    } catch (err) {
      return this.error(where, err); // still where it was
    }
    try {
      if (!sameFileNoThrow('.', st)) throw new Error('replaced during the walk; not walked');
      const names = listHere();
      const mounts = mountDirs.size > 0 && mountDirs.has(mountKey(where));
      frames.push({ name, path: where, dev: st.dev, ino: st.ino, names, mounts, fd: -1, pending: 0, left: false });
    } catch (err) {
      this.error(where, err);
      this.up(frames);
    }
  }

  /** Leaves the top frame. */
  private leave(frames: Frame[]): void {
    this.release(frames.pop()!);
    this.up(frames);
  }

  /** Back into the top frame's directory from a child of it: `..`, checked. */
  private up(frames: Frame[]): void {
    const top = frames.at(-1)!;
    if (frames.length === 1) return; // the caller's cwd: put back by home.restore()
    try {
      process.chdir('..');
      if (sameFileNoThrow('.', top)) return;
    } catch {
      // climb down from the root instead
    }
    this.reenter(frames);
  }

  /** Gets back into the top frame's directory from the root, checking every step; throws Lost. */
  private reenter(frames: Frame[]): void {
    try {
      for (const f of frames.slice(1)) {
        chdirTo(f.name);
        if (!sameFileNoThrow('.', f)) throw new Error('moved');
      }
    } catch {
      const top = frames.at(-1)!;
      this.errors.push({ path: pathText(top.path), message: 'moved during the walk; the rest of it was not re-owned' });
      throw new Lost();
    }
  }

  /** Waits for `what` with the caller's cwd in place, then gets back into the top frame. */
  private async pause(frames: Frame[], home: Cwd, what: () => Promise<void>): Promise<void> {
    let held = -1;
    if (frames.length > 1) {
      try {
        held = fs.openSync('.', O_PATH | O_DIRECTORY);
      } catch {
        // re-entered from the root afterwards
      }
    }
    home.restore();
    try {
      const now = performance.now();
      if (this.opts.onProgress && now - this.lastProgress >= this.every) this.progress(now);
      await what();
    } finally {
      if (frames.length > 1) {
        let back = false;
        if (held >= 0) {
          try {
            process.chdir(`/proc/self/fd/${held}`);
            back = sameFileNoThrow('.', frames.at(-1)!);
          } catch {
            back = false;
          }
          fs.closeSync(held);
        }
        if (!back) this.reenter(frames);
      }
    }
  }

  /** Closes a frame's fd once no pooled chown needs it. */
  private release(f: Frame): void {
    f.left = true;
    if (f.fd >= 0 && f.pending === 0) {
      fs.closeSync(f.fd);
      f.fd = -1;
    }
  }

  /** Whether /proc/self/fd/<n> leads to the open directory (pooled chowns name entries so). */
  private procFdWorks(): boolean {
    if (this.procFd === undefined) {
      const fd = fs.openSync('/', O_PATH | O_DIRECTORY);
      try {
        this.procFd = sameFile(fs.statSync(`/proc/self/fd/${fd}`), fs.fstatSync(fd));
      } catch {
        this.procFd = false;
      } finally {
        fs.closeSync(fd);
      }
    }
    return this.procFd;
  }

  private progress(now: number): void {
    if (this.stopped()) return;
    this.lastProgress = now;
    try {
      this.opts.onProgress!({ scanned: this.scanned, changed: this.changed });
    } catch (error) {
      this.failure = { error };
    }
  }

  private error(p: FsPath, err: unknown): void {
    this.errors.push({ path: pathText(p), message: errorText(err) });
  }
}

/** chdir into a directory entry (or the root): by name, or through an fd for names that are not UTF-8. */
function chdirTo(name: FsPath): void {
  if (typeof name === 'string') return process.chdir(name);
  const fd = fs.openSync(name, O_PATH | O_DIRECTORY | O_NOFOLLOW);
  try {
    process.chdir(`/proc/self/fd/${fd}`);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
    throw new Error('cannot enter a directory whose name is not UTF-8 without /proc');
  } finally {
    fs.closeSync(fd);
  }
}

/** The entries of the current directory; names that are not UTF-8 as Buffers. */
function listHere(): FsPath[] {
  const names = fs.readdirSync('.');
  if (!names.some((n) => n.includes('\uFFFD'))) return names;
  return fs.readdirSync('.', { encoding: 'buffer' }).map((n) => (isUtf8(n) ? n.toString() : n));
}

function join(dir: FsPath, name: FsPath): FsPath {
  if (typeof dir === 'string' && typeof name === 'string') return `${dir}/${name}`;
  return Buffer.concat([Buffer.from(dir), SLASH, Buffer.from(name)]);
}

/** chown(2) clears S_ISUID/S_ISGID of regular files: such files are re-owned keeping their mode. */
function keepsMode(st: fs.Stats): boolean {
  return st.isFile() && (st.mode & 0o6000) !== 0;
}

function sameFile(a: { dev: number; ino: number }, b: { dev: number; ino: number }): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

function sameFileNoThrow(p: string, b: { dev: number; ino: number }): boolean {
  try {
    return sameFile(fs.statSync(p), b);
  } catch {
    return false;
  }
}

/** Whether `root` is on a file system of this statfs type. */
function onFsType(root: string, type: number): boolean {
  try {
    return fs.statfsSync(root).type === type;
  } catch {
    return false;
  }
}

/** Whether chown is slow where `root` lives (statfs follows a symlink root: harmless). */
function onSlowFs(root: string): boolean {
  try {
    return SLOW_FS.has(fs.statfsSync(root).type);
  } catch {
    return false;
  }
}

function pathText(p: FsPath): string {
  return typeof p === 'string' ? p : p.toString('utf8');
}

/** "lstat: permission denied (EACCES)"; the path is reported beside it. */
function errorText(err: unknown): string {
  if (errnoCode(err) === undefined) return err instanceof Error ? err.message : String(err);
  const e = err as NodeJS.ErrnoException;
  const what = typeof e.errno === 'number' ? getSystemErrorMessage(e.errno) : e.message;
  return `${e.syscall ?? 'fs'}: ${what}${e.code ? ` (${e.code})` : ''}`;
}

/** The key of the directory a keyed path is in. */
function parentKey(key: string): string {
  const bytes = key.startsWith('\0') ? Buffer.from(key.slice(1), 'latin1') : Buffer.from(key);
  return mountKey(bytes.subarray(0, Math.max(1, bytes.lastIndexOf(0x2f))));
}
