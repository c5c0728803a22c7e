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
// - Concurrency: a fixed pool of CONCURRENCY entries in flight through libuv's threadpool with
//   the callback fs API (cheaper than fs.promises per operation). Pending work is a stack of
//   paths (depth-first, so it stays near the size of the directories being expanded); readdir
//   holds no fd once it returns, so at most CONCURRENCY fds/requests exist at any time. We do
//   not touch UV_THREADPOOL_SIZE: measured on 2 cores, the default 4 threads are as fast as more
//   (bench/reown/variants.mjs).
// - Abort: once `signal` aborts, no new operation starts; the operations already in flight (at
//   most CONCURRENCY, each a single syscall) are let finish, then the promise REJECTS with a
//   ReownAbortedError (name 'AbortError', code 'ABORT_ERR', `cause` = signal.reason) whose
//   `partial` holds the counts so far. After the promise settles nothing of ours is in flight.
// - onProgress is called after an entry completes, at most every progressEveryMs (never at the
//   end: the result carries the final counts). If it throws, the walk stops and rejects with it.
// - scanned counts entries whose ownership was examined (lstat succeeded, not across a mount);
//   changed counts successful re-owns. If from equals to, nothing can change: no walk at all.
// - Never prints, never touches process.stdout/stderr/stdin (O_NONBLOCK would leak past exec).
//
// Known limit: like chown -R and usermod, paths are resolved from the root each time, so a
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

/** Entries in flight at once. 16 measured best on 2 cores with 4 threadpool threads. */
export const CONCURRENCY = 16;
const SLICE_MS = 20;

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
      if (root !== undefined) await (concurrency === 0 ? w.treeSync(root, mounts) : w.tree(root, mounts));
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

  /** Synchronous syscalls on the main thread, in slices of ~SLICE_MS with a yield between. */
  async treeSync(root: string, allMounts: string[]): Promise<void> {
    const under = root + '/';
    const underBytes = '\0' + Buffer.from(under).toString('latin1');
    const mounts = new Set(allMounts.filter((m) => m.startsWith(under) || m.startsWith(underBytes)));
    const { signal, onProgress } = this.opts;
    const { from, to } = this.req;
    const stack: FsPath[] = [root];
    let rootDev = -1;
    let sliceEnd = performance.now() + SLICE_MS;
    for (let n = 0; stack.length > 0; n++) {
      if ((n & 63) === 0) {
        const now = performance.now();
        if (now >= sliceEnd) {
          await new Promise(setImmediate);
          sliceEnd = performance.now() + SLICE_MS;
        }
        if (signal?.aborted) throw new ReownAbortedError(this.result(), signal.reason);
        if (onProgress && now - this.lastProgress >= this.every) {
          this.lastProgress = now;
          onProgress({ scanned: this.scanned, changed: this.changed });
        }
      }
      const p = stack.pop()!;
      const isRoot = n === 0;
      let st: fs.Stats;
      try {
        st = fs.lstatSync(p);
      } catch (err) {
        if (!(isRoot && errnoOf(err) === 'ENOENT')) this.error(p, err as NodeJS.ErrnoException);
        continue;
      }
      if (isRoot) rootDev = st.dev;
      else if (st.dev !== rootDev || (mounts.size > 0 && mounts.has(mountKey(p)))) continue;
      this.scanned++;
      const uid = st.uid === from.uid ? to.uid : -1;
      const gid = st.gid === from.gid ? to.gid : -1;
      if ((uid !== -1 && uid !== st.uid) || (gid !== -1 && gid !== st.gid)) {
        try {
          if (st.isFile() && (st.mode & 0o6000) !== 0) this.reownKeepingModeSync(p, st, uid, gid);
          else fs.lchownSync(p, uid, gid);
          this.changed++;
        } catch (err) {
          this.error(p, err as NodeJS.ErrnoException);
        }
      }
      if (st.isDirectory()) this.expandSync(p, stack);
    }
  }

  private expandSync(dir: FsPath, stack: FsPath[]): void {
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

  private reownKeepingModeSync(p: FsPath, st: fs.Stats, uid: number, gid: number): void {
    const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
    const fd = fs.openSync(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    try {
      const now = fs.fstatSync(fd);
      if (now.dev !== st.dev || now.ino !== st.ino) throw Object.assign(new Error('replaced during the walk'), { syscall: 'open' });
      fs.fchownSync(fd, uid, gid);
      fs.fchmodSync(fd, st.mode & 0o7777);
    } finally {
      fs.closeSync(fd);
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
      const settleIfIdle = (): void => {
        if (inFlight > 0) return;
        signal?.removeEventListener('abort', pump);
        if (this.failure) reject(this.failure.error);
        else if (signal?.aborted) {
          reject(new ReownAbortedError(this.result(), signal.reason));
        } else if (stack.length === 0) resolve();
      };

      const done = (): void => {
        inFlight--;
        if (this.opts.onProgress && !this.failure) {
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
        while (inFlight < this.concurrency && stack.length > 0 && !signal?.aborted && !this.failure) {
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
            if (st.isDirectory()) this.expand(p, stack, done);
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

      if (signal?.aborted) return settleIfIdle();
      signal?.addEventListener('abort', pump);
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
