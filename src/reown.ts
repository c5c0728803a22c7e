// Re-owns file trees after a uid/gid remap: every entry under each root whose uid is `from.uid`
// gets `to.uid`, and independently every entry whose gid is `from.gid` gets `to.gid` (fixuid only
// re-owned entries matching both, which stranded olduid:othergid files; anchors §6.5, §10.13).
//
// Rules, and why:
// - lchown only: a symlink is re-owned itself, its target never. A root that is a symlink is
//   re-owned and not followed (like filepath.Walk in fixuid).
// - Never leave the root's filesystem. An entry whose st_dev differs from the root's, or whose
//   path is a mount point (bind mounts share st_dev, so /proc/self/mountinfo is read too, or the
//   caller's `mounts` list), is neither re-owned nor descended. A root that is itself a mount
//   point is walked: listing a volume explicitly is how a caller asks for it.
// - chown(2) clears S_ISUID/S_ISGID on regular files (and drops file capabilities, which we can
//   not restore: Node has no xattr API). Such files are re-owned through an O_NOFOLLOW fd whose
//   dev/ino is checked against the lstat, and their original mode is put back with fchmod; no
//   bit that was not there is ever added.
// - Per-entry failures (EACCES, ENOENT from races, ...) go to `errors`; the walk continues. A
//   root that does not exist is skipped silently. A root resolving to `/` throws.
// - Speed: the walk is synchronous (lstatSync/lchownSync/readdirSync), in slices of SLICE_MS
//   (10 ms), after each of which the event loop turns (setImmediate) so signal handlers, timers
//   and the abort run. A threadpool hand-off costs more than an lstat or a chown on a local file
//   system: on warm ext4, 108k entries (bench/reown.mjs, medians of 5 interleaved runs on the
//   loaded 2-core VM, ±30%): sliced sync 1.46 s, the previous design (everything through the
//   threadpool, 64 in flight) 1.92 s, sync lstat/readdir + pooled chowns 3.27 s; usermod 1.03 s,
//   chown -R 0.86 s (they use fstatat/fchownat relative to a directory fd; Node has no *at calls).
//   Where chown is slow (overlayfs, where every chown of an image file copies it up; FUSE; network
//   file systems: SLOW_FS, by statfs f_type of the root), or if the first 256 synchronous chowns
//   averaged more than SLOW_CHOWN_MS (ext4: ~0.01 ms; one journal stall does not tip it), chowns go to libuv's threadpool instead, POOL_IN_FLIGHT (64) at a time, while
//   lstat and readdir stay synchronous: copy-ups gain from parallel I/O, and a large one never
//   holds the main thread. Overlayfs, 21.7k entries, every 100th file 1 MiB, fresh upper layer:
//   this 3.3 s, all-sync 7.5 s, the previous design 4.3 s; usermod 6.4 s, chown -R 6.5 s.
//   UV_THREADPOOL_SIZE is left alone (it only works before anything used the pool, and leaks
//   into the exec'd program's environment). Memory is the stack of pending paths (about the sizes
//   of the directories being expanded); no fd is held across entries, whatever the tree's size.
// - Abort: once `signal` aborts, no new operation starts; the walk notices at the end of the
//   current slice (at most ~SLICE_MS plus one entry). Pooled chowns already handed to the kernel
//   (at most 64, each a syscall or, for set-id files, an open/fstat/fchown/fchmod chain that is
//   always finished so no file is left without its bits) get up to ABORT_GRACE_MS to land, then
//   the promise REJECTS with a ReownAbortedError (name 'AbortError', code 'ABORT_ERR', `cause` =
//   signal.reason) whose `partial` holds the counts so far. Synchronous chowns are never in
//   flight; pooled ones only if slower than the grace.
// - onProgress is called after an entry completes, at most every progressEveryMs (never at the
//   end: the result carries the final counts). If it throws, the walk stops and rejects with it.
// - scanned counts entries whose ownership was examined (lstat succeeded, not across a mount);
//   changed counts successful re-owns. If from equals to, nothing can change: no walk at all.
// - Never prints, never touches process.stdout/stderr/stdin (O_NONBLOCK would leak past exec).
//
// Known limit: Node has no *at() calls, so every path is resolved from the root again, and a
// process that swaps a directory for a symlink *during* the walk could redirect an lchown. At
// container start nothing else runs in the tree; do not run this against a tree being modified.
import * as fs from 'node:fs';
import { isUtf8 } from 'node:buffer';
import * as path from 'node:path';
import { getSystemErrorMessage } from 'node:util';
import { errnoCode } from './errors.js';

export interface ReownRequest {
  roots: string[];
  from: { uid: number; gid: number };
  to: { uid: number; gid: number };
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
const SLOW_FS = new Set([
  0x794c7630, // overlayfs: every chown of a lower file copies it up
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

/** How chowns are issued: for bench/reown/variants.mjs, which compares the strategies. */
export interface ReownTuning {
  /** 'auto' (default): 'pool' on SLOW_FS or once an entry is slow, else 'sync'. */
  chowns?: 'auto' | 'sync' | 'pool';
  /** Pooled chowns in flight at once (default POOL_IN_FLIGHT). */
  inFlight?: number;
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
    for (const given of req.roots) {
      const root = w.canonicalRoot(given);
      if (root !== undefined) await w.tree(root, mounts);
    }
  }
  return w.result();
}

type FsPath = string | Buffer;
const SLASH = Buffer.from('/');
const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
const OPEN_FLAGS = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

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
      if (code !== 'ENOENT' && code !== 'ENOTDIR') this.error(abs, err as NodeJS.ErrnoException);
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
  async tree(root: string, allMounts: string[]): Promise<void> {
    const { signal } = this.opts;
    if (signal?.aborted) throw new ReownAbortedError(this.result(), signal.reason);
    const under = root + '/';
    const underBytes = '\0' + Buffer.from(under).toString('latin1');
    const mounts = new Set(allMounts.filter((m) => m.startsWith(under) || m.startsWith(underBytes)));
    const { chowns = 'auto', inFlight: maxInFlight = POOL_IN_FLIGHT } = this.tuning;
    let pooled = chowns === 'pool' || (chowns === 'auto' && onSlowFs(root));
    const { from, to } = this.req;
    const stack: FsPath[] = [];
    let rootDev = -1;
    let syncChowns = 0;
    let syncChownMs = 0;

    signal?.addEventListener('abort', this.nudge);
    try {
      let deadline = performance.now() + SLICE_MS;
      stack.push(root);
      for (let isRoot = true; ; isRoot = false) {
        if (this.stopped()) break;
        if (this.inFlight >= maxInFlight || (stack.length === 0 && this.inFlight > 0)) {
          await this.landing();
          deadline = performance.now() + SLICE_MS;
          continue;
        }
        const p = stack.pop();
        if (p === undefined) break;

        // One entry: lstat, maybe re-own, maybe list.
        let st: fs.Stats | undefined;
        try {
          st = fs.lstatSync(p);
        } catch (err) {
          if (!(isRoot && errnoCode(err) === 'ENOENT')) this.error(p, err as NodeJS.ErrnoException);
        }
        if (st !== undefined) {
          if (isRoot) rootDev = st.dev;
          if (isRoot || (st.dev === rootDev && (mounts.size === 0 || !mounts.has(mountKey(p))))) {
            this.scanned++;
            const uid = st.uid === from.uid ? to.uid : -1;
            const gid = st.gid === from.gid ? to.gid : -1;
            if ((uid !== -1 && uid !== st.uid) || (gid !== -1 && gid !== st.gid)) {
              const keepMode = st.isFile() && (st.mode & 0o6000) !== 0;
              if (pooled) {
                this.inFlight++;
                if (keepMode) this.reownKeepingMode(p, st, uid, gid);
                else fs.lchown(p, uid, gid, this.landed.bind(this, p));
              } else {
                const t = syncChowns < 256 ? performance.now() : 0;
                if (keepMode) this.reownKeepingModeSync(p, st, uid, gid);
                else {
                  try {
                    fs.lchownSync(p, uid, gid);
                    this.changed++;
                  } catch (err) {
                    this.error(p, err as NodeJS.ErrnoException);
                  }
                }
                if (syncChowns < 256) {
                  syncChownMs += performance.now() - t;
                  if (++syncChowns === 256 && chowns === 'auto' && syncChownMs > 256 * SLOW_CHOWN_MS) pooled = true;
                }
              }
            }
            if (st.isDirectory()) this.expand(p, stack);
          }
        }

        const now = performance.now();
        if (this.opts.onProgress && now - this.lastProgress >= this.every) this.progress(now);
        if (now >= deadline) {
          await turn();
          deadline = performance.now() + SLICE_MS;
        }
      }
      // Stopped: pooled operations cannot be recalled; give them a moment to land so the partial
      // counts are exact, but never let a slow one (a large copy-up) hold the rejection back.
      const until = performance.now() + ABORT_GRACE_MS;
      while (this.inFlight > 0 && performance.now() < until) await this.landing(until - performance.now());
    } finally {
      signal?.removeEventListener('abort', this.nudge);
    }
    if (this.failure) throw this.failure.error;
    if (signal?.aborted) throw new ReownAbortedError(this.result(), signal.reason);
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

  /** Completion of a pooled lchown. */
  private landed(p: FsPath, err: NodeJS.ErrnoException | null): void {
    if (err) this.error(p, err);
    else this.changed++;
    this.inFlight--;
    this.nudge();
  }

  /** Pushes a directory's children onto the stack. Names that are not UTF-8 get Buffer paths. */
  private expand(dir: FsPath, stack: FsPath[]): void {
    try {
      if (typeof dir === 'string') {
        const names = fs.readdirSync(dir);
        if (!names.some((n) => n.includes('\uFFFD'))) {
          for (const n of names) stack.push(`${dir}/${n}`);
          return;
        }
      }
      const bytes = typeof dir === 'string' ? Buffer.from(dir) : dir;
      for (const n of fs.readdirSync(bytes, { encoding: 'buffer' })) {
        stack.push(typeof dir === 'string' && isUtf8(n) ? `${dir}/${n.toString()}` : Buffer.concat([bytes, SLASH, n]));
      }
    } catch (err) {
      this.error(dir, err as NodeJS.ErrnoException);
    }
  }

  /** chown clears S_ISUID/S_ISGID: re-own through an fd that is the lstat'ed file, then fchmod. */
  private reownKeepingModeSync(p: FsPath, st: fs.Stats, uid: number, gid: number): void {
    let fd: number;
    try {
      fd = fs.openSync(p, OPEN_FLAGS);
    } catch (err) {
      return this.error(p, err as NodeJS.ErrnoException);
    }
    try {
      const now = fs.fstatSync(fd);
      if (now.dev !== st.dev || now.ino !== st.ino) {
        this.errors.push({ path: pathText(p), message: 'replaced during the walk; left alone' });
      } else {
        fs.fchownSync(fd, uid, gid);
        this.changed++;
        fs.fchmodSync(fd, st.mode & 0o7777);
      }
    } catch (err) {
      this.error(p, err as NodeJS.ErrnoException);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The pooled reownKeepingModeSync: the chain always finishes, so no file loses its bits. */
  private reownKeepingMode(p: FsPath, st: fs.Stats, uid: number, gid: number): void {
    const next = (): void => {
      this.inFlight--;
      this.nudge();
    };
    fs.open(p, OPEN_FLAGS, (err, fd) => {
      if (err) {
        this.error(p, err);
        return next();
      }
      const finish = (err: NodeJS.ErrnoException | null | string): void => {
        if (typeof err === 'string') this.errors.push({ path: pathText(p), message: err });
        else if (err) this.error(p, err);
        fs.close(fd, () => next());
      };
      fs.fstat(fd, (err, now) => {
        if (err) return finish(err);
        if (now.dev !== st.dev || now.ino !== st.ino) return finish('replaced during the walk; left alone');
        fs.fchown(fd, uid, gid, (err) => {
          if (err) return finish(err);
          this.changed++;
          fs.fchmod(fd, st.mode & 0o7777, finish);
        });
      });
    });
  }

  private error(p: FsPath, err: NodeJS.ErrnoException): void {
    this.errors.push({ path: pathText(p), message: errorText(err) });
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
function errorText(err: NodeJS.ErrnoException): string {
  const what = typeof err.errno === 'number' ? getSystemErrorMessage(err.errno) : err.message;
  return `${err.syscall ?? 'fs'}: ${what}${err.code ? ` (${err.code})` : ''}`;
}

/**
 * How a path is keyed in the mount-point set: the string itself when the bytes are UTF-8,
 * otherwise NUL + the bytes as latin1 (a UTF-8 path never starts with NUL, so keys never collide).
 */
export function mountKey(p: FsPath): string {
  if (typeof p === 'string') return p;
  return isUtf8(p) ? p.toString('utf8') : '\0' + p.toString('latin1');
}

/**
 * Mount points (field 5) of /proc/self/mountinfo text, keyed as mountKey does. The kernel escapes
 * space, tab, newline and backslash as \ooo octal; every other byte is raw, so decode bytes.
 */
export function parseMountInfo(text: Buffer | string): string[] {
  const buf = typeof text === 'string' ? Buffer.from(text) : text;
  const out: string[] = [];
  let start = 0;
  while (start < buf.length) {
    let end = buf.indexOf(0x0a, start);
    if (end < 0) end = buf.length;
    const line = buf.subarray(start, end);
    start = end + 1;
    let field = 0;
    let i = 0;
    while (field < 4 && i < line.length) if (line[i++] === 0x20) field++;
    if (field < 4) continue;
    let j = line.indexOf(0x20, i);
    if (j < 0) j = line.length;
    out.push(mountKey(unescapeOctal(line.subarray(i, j))));
  }
  return out;
}

function unescapeOctal(b: Buffer): Buffer {
  if (!b.includes(0x5c)) return b;
  const out: number[] = [];
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    const oct = b.subarray(i + 1, i + 4).toString('latin1');
    if (c === 0x5c && /^[0-3][0-7]{2}$/.test(oct)) {
      out.push(parseInt(oct, 8));
      i += 3;
    } else out.push(c);
  }
  return Buffer.from(out);
}

/** The mount points this process sees, keyed as mountKey does; none without /proc. */
export function readMountPoints(): string[] {
  try {
    return parseMountInfo(fs.readFileSync('/proc/self/mountinfo'));
  } catch {
    return []; // no /proc: st_dev still keeps us off other filesystems
  }
}
