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
// - Concurrency: up to CONCURRENCY (64) entries in flight through libuv's threadpool, with the
//   callback fs API (lstat of 108k paths, 64 in flight: 0.66-1.0 s vs 0.97-1.7 s for
//   fs.promises). Pending work is a stack of paths (depth first); readdir holds no fd once it
//   returns, so at most 64 requests/fds exist at any time, whatever the tree's size; memory is
//   the pending path strings (about the sizes of the directories being expanded).
//   Measured on the 2-core VM (bench/reown/variants.mjs, medians, interleaved runs; the machine
//   was shared, so ±30%). Warm ext4, 108k entries: a plain lstatSync/lchownSync loop 1.44 s,
//   64 in flight on 2 threads 1.79 s, on the default 4 threads 2.50 s, 4 in flight 6.07 s (an
//   experiment capping lchowns at 2 in flight took 4.72 s: the cost is hand-off latency, not
//   kernel contention). Overlayfs
//   with every 50th file 1 MiB (every chown is a copy-up, as for image files in a container;
//   21.7k entries): sync loop 6.45 s, 64x2 6.03 s, 64x4 5.01 s, 256x4 4.84 s. So: a deep queue
//   amortises the hand-offs, copy-ups gain from parallel I/O, and a slow syscall (copy-up of a
//   large file) never holds the main thread, so an abort stays prompt. UV_THREADPOOL_SIZE is left
//   alone: 2 threads were ~1.4x faster for small files on plain ext4 here, slower on overlayfs,
//   and setting it only works before anything else used the pool and leaks into the exec'd
//   program's environment.
// - Abort: once `signal` aborts, no new operation starts. Operations already handed to the
//   kernel (at most 64, each a syscall or, for set-id files, an open/fstat/fchown/fchmod chain
//   that is always finished so no file is left without its bits) get up to ABORT_GRACE_MS to
//   land, then the promise REJECTS with a ReownAbortedError (name 'AbortError', code
//   'ABORT_ERR', `cause` = signal.reason) whose `partial` holds the counts so far. Normally
//   nothing of ours is in flight after that; only a syscall slower than the grace can be.
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

/** Entries in flight at once (see the header comment for the measurements). */
export const CONCURRENCY = 64;
/** After an abort, how long in-flight operations may take to land before we reject anyway. */
const ABORT_GRACE_MS = 200;

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
  return reownTreesTuned(req, opts, CONCURRENCY);
}

/** reownTrees with the pool size as a parameter: for the benchmark that picked CONCURRENCY. */
export async function reownTreesTuned(
  req: ReownRequest,
  opts: ReownOptions,
  concurrency: number,
): Promise<ReownResult> {
  for (const id of [req.from.uid, req.from.gid, req.to.uid, req.to.gid]) {
    if (!Number.isInteger(id) || id < 0 || id >= 0xffffffff) throw new RangeError(`invalid id ${id}`);
  }
  for (const root of req.roots) if (path.resolve(root) === '/') throw new Error('refusing to re-own "/"');
  const w = new Walk(req, opts, concurrency);
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

class Walk {
  private scanned = 0;
  private changed = 0;
  private readonly errors: { path: string; message: string }[] = [];
  private readonly every: number;
  private readonly started = performance.now();
  private lastProgress = this.started;
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly req: ReownRequest,
    private readonly opts: ReownOptions,
    private readonly concurrency: number,
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
      const code = errnoOf(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') this.error(abs, err as NodeJS.ErrnoException);
      return undefined;
    }
  }

  /** Walks one root; resolves when done, rejects on abort or a throwing onProgress. */
  tree(root: string, allMounts: string[]): Promise<void> {
    const under = root + '/';
    const underBytes = '\0' + Buffer.from(under).toString('latin1');
    const mounts = new Set(allMounts.filter((m) => m.startsWith(under) || m.startsWith(underBytes)));
    const stack: FsPath[] = [];
    let rootDev = -1;
    let inFlight = 0;
    const { signal } = this.opts;

    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let grace: NodeJS.Timeout | undefined;
      const stopped = (): boolean => this.failure !== undefined || signal?.aborted === true;
      const settle = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(grace);
        signal?.removeEventListener('abort', onAbort);
        if (this.failure) reject(this.failure.error);
        else if (signal?.aborted) reject(new ReownAbortedError(this.result(), signal.reason));
        else resolve();
      };
      const settleIfIdle = (): void => {
        if (inFlight === 0 && (stack.length === 0 || stopped())) settle();
      };
      // In-flight syscalls cannot be recalled; give them a moment to land so the partial counts
      // are exact, but never let a slow one (a large overlayfs copy-up) hold the rejection back.
      const onAbort = (): void => {
        grace = setTimeout(settle, ABORT_GRACE_MS);
        settleIfIdle();
      };

      const done = (): void => {
        inFlight--;
        if (this.opts.onProgress && !stopped()) {
          const now = performance.now();
          if (now - this.lastProgress >= this.every) {
            this.lastProgress = now;
            try {
              this.opts.onProgress({ scanned: this.scanned, changed: this.changed });
            } catch (error) {
              this.failure = { error };
            }
          }
        }
        pump();
      };

      // Starts entries until the pool is full; settles once nothing is left in flight.
      const pump = (): void => {
        while (inFlight < this.concurrency && stack.length > 0 && !stopped()) {
          inFlight++;
          entry(stack.pop()!, false);
        }
        settleIfIdle();
      };

      const entry = (p: FsPath, isRoot: boolean): void => {
        fs.lstat(p, (err, st) => {
          if (err) {
            if (!(isRoot && errnoOf(err) === 'ENOENT')) this.error(p, err);
            return done();
          }
          if (isRoot) rootDev = st.dev;
          else if (st.dev !== rootDev || (mounts.size > 0 && mounts.has(mountKey(p)))) return done();
          this.scanned++;
          const descend = (): void => {
            if (st.isDirectory() && !stopped()) this.expand(p, stack, done);
            else done();
          };
          const uid = st.uid === this.req.from.uid ? this.req.to.uid : -1;
          const gid = st.gid === this.req.from.gid ? this.req.to.gid : -1;
          if ((uid === -1 || uid === st.uid) && (gid === -1 || gid === st.gid)) return descend();
          if (st.isFile() && (st.mode & 0o6000) !== 0) return this.reownKeepingMode(p, st, uid, gid, descend);
          fs.lchown(p, uid, gid, (err) => {
            if (err) this.error(p, err);
            else this.changed++;
            descend();
          });
        });
      };

      if (signal?.aborted) return settle();
      signal?.addEventListener('abort', onAbort);
      inFlight++;
      entry(root, true);
    });
  }

  /** Pushes a directory's children onto the stack. Names that are not UTF-8 get Buffer paths. */
  private expand(dir: FsPath, stack: FsPath[], done: () => void): void {
    if (typeof dir === 'string') {
      fs.readdir(dir, (err, names) => {
        if (err) this.error(dir, err);
        else if (!names.some((n) => n.includes('\uFFFD'))) for (const n of names) stack.push(`${dir}/${n}`);
        else return this.expandBytes(dir, stack, done);
        done();
      });
    } else this.expandBytes(dir, stack, done);
  }

  private expandBytes(dir: FsPath, stack: FsPath[], done: () => void): void {
    const bytes = typeof dir === 'string' ? Buffer.from(dir) : dir;
    fs.readdir(bytes, { encoding: 'buffer' }, (err, names) => {
      if (err) this.error(dir, err);
      else {
        for (const n of names) {
          stack.push(typeof dir === 'string' && isUtf8(n) ? `${dir}/${n.toString()}` : Buffer.concat([bytes, SLASH, n]));
        }
      }
      done();
    });
  }

  /** chown clears S_ISUID/S_ISGID: re-own through an fd that is the lstat'ed file, then fchmod. */
  private reownKeepingMode(p: FsPath, st: fs.Stats, uid: number, gid: number, next: () => void): void {
    const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
    fs.open(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, (err, fd) => {
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

function pathText(p: FsPath): string {
  return typeof p === 'string' ? p : p.toString('utf8');
}

/** "lstat: permission denied (EACCES)"; the path is reported beside it. */
function errorText(err: NodeJS.ErrnoException): string {
  const what = typeof err.errno === 'number' ? getSystemErrorMessage(err.errno) : err.message;
  return `${err.syscall ?? 'fs'}: ${what}${err.code ? ` (${err.code})` : ''}`;
}

function errnoOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
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

function readMountPoints(): string[] {
  try {
    return parseMountInfo(fs.readFileSync('/proc/self/mountinfo'));
  } catch {
    return []; // no /proc: st_dev still keeps us off other filesystems
  }
}
