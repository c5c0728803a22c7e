// One re-own: walks each root depth-first inside the directory it visits, in time slices between
// which the event loop turns (with the caller's cwd put back), skipping other file systems and
// mount points, and hands each entry to the chown strategy (chowns.ts). The rules are in
// ../reown.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errnoCode } from '../../system/errors.js';
import { mountKey, mountsUnder } from '../mount-points.js';
import { Chowns, POOL_IN_FLIGHT, release } from './chowns.js';
import { type Cwd, type FsPath, type Frame, O_PATH, OVERLAYFS, chdirTo, join, listHere, onFsType, sameFileNoThrow } from './dir-ops.js';
import { Tally, pathText } from './tally.js';
import { type ReownOptions, type ReownRequest, type ReownResult, type ReownTuning, ReownAbortedError } from './types.js';

/** Synchronous work between two turns of the event loop (signals, timers, the abort). */
const SLICE_MS = 10;
/** After an abort, how long in-flight pooled chowns may take to land before we reject anyway. */
const ABORT_GRACE_MS = 200;
const { O_DIRECTORY } = fs.constants;
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Thrown when the walk cannot get back into the directory it was walking. */
class Lost extends Error {}

export class Walk {
  private readonly tally = new Tally();
  private readonly chowns: Chowns;
  private readonly every: number;
  private lastProgress = this.tally.started;
  private failure: { error: unknown } | undefined;

  constructor(
    req: ReownRequest,
    private readonly opts: ReownOptions,
    private readonly tuning: ReownTuning,
  ) {
    this.every = opts.progressEveryMs ?? 250;
    this.chowns = new Chowns(req, this.tally);
  }

  result(): ReownResult {
    return this.tally.result();
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
      if (code !== 'ENOENT' && code !== 'ENOTDIR') this.tally.error(abs, err);
      return undefined;
    }
  }

  private stopped(): boolean {
    return this.failure !== undefined || this.opts.signal?.aborted === true;
  }

  /** Walks one root; resolves when done, rejects on abort or a throwing onProgress. */
  async tree(root: string, allMounts: string[], home: Cwd): Promise<void> {
    const { signal } = this.opts;
    if (signal?.aborted) throw new ReownAbortedError(this.result(), signal.reason);
    const { mounts, dirs: mountDirs } = mountsUnder(root, allMounts);
    const { chowns = 'auto', inFlight: maxInFlight = POOL_IN_FLIGHT, sliceMs = SLICE_MS } = this.tuning;
    const chown = this.chowns.forTree(root, chowns);

    let st: fs.Stats;
    try {
      st = fs.lstatSync(root);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') this.tally.error(root, err);
      return;
    }
    const rootDev = st.dev;
    // overlayfs whose layers are on different file systems reports a non-directory's st_dev from
    // the layer that holds it, never the overlay's (only directories report the overlay's), so
    // there st_dev would skip every file as "another filesystem". Under an overlay only
    // directories are compared by st_dev; a non-directory can only be on another file system as
    // a bind-mounted file, which mountinfo lists.
    const nonDirsByDev = !onFsType(root, OVERLAYFS);
    this.tally.scanned++;
    this.chowns.sync(root, undefined, st);
    if (!st.isDirectory()) return;

    // The bottom frame stands for the caller's cwd: the root is entered as an entry of it.
    const frames: Frame[] = [{ name: '', path: '', dev: -1, ino: -1, names: [], mounts: false, fd: -1, pending: 0, left: false }];
    signal?.addEventListener('abort', this.chowns.nudge);
    try {
      try {
        this.enter(frames, root, st, mountDirs);
        let deadline = performance.now() + sliceMs;
        while (frames.length > 1 && !this.stopped()) {
          if (this.chowns.inFlight >= maxInFlight) {
            await this.pause(frames, home, () => this.chowns.landing());
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
            this.tally.error(join(dir.path, name), err);
          }
          if (st !== undefined && (st.dev === rootDev || (!nonDirsByDev && !st.isDirectory())) && !(dir.mounts && mounts.has(mountKey(join(dir.path, name))))) {
            this.tally.scanned++;
            chown(dir, name, st);
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
      for (const f of frames) release(f);
      home.restore();
      // Pooled chowns cannot be recalled; wait for them so the counts are exact, but after an
      // abort never let a slow one (a large copy-up) hold the rejection back.
      const until = this.stopped() ? performance.now() + ABORT_GRACE_MS : Infinity;
      while (this.chowns.inFlight > 0 && performance.now() < until) {
        await this.chowns.landing(until === Infinity ? undefined : until - performance.now());
      }
    } finally {
      signal?.removeEventListener('abort', this.chowns.nudge);
      for (const f of frames) release(f);
      home.restore();
    }
    if (this.failure) throw this.failure.error;
    if (signal?.aborted) throw new ReownAbortedError(this.result(), signal.reason);
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
      return this.tally.error(where, err); // still where it was
    }
    try {
      if (!sameFileNoThrow('.', st)) throw new Error('replaced during the walk; not walked');
      const names = listHere();
      const mounts = mountDirs.size > 0 && mountDirs.has(mountKey(where));
      frames.push({ name, path: where, dev: st.dev, ino: st.ino, names, mounts, fd: -1, pending: 0, left: false });
    } catch (err) {
      this.tally.error(where, err);
      this.up(frames);
    }
  }

  /** Leaves the top frame. */
  private leave(frames: Frame[]): void {
    release(frames.pop()!);
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
      this.tally.errors.push({ path: pathText(top.path), message: 'moved during the walk; the rest of it was not re-owned' });
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

  private progress(now: number): void {
    if (this.stopped()) return;
    this.lastProgress = now;
    try {
      this.opts.onProgress!({ scanned: this.tally.scanned, changed: this.tally.changed });
    } catch (error) {
      this.failure = { error };
    }
  }
}
