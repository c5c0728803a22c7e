// The chowns of a walk, and the switch between its two ways of issuing them: synchronously by
// name in the cwd (cheap on a local file system), or through libuv's threadpool, naming the entry
// through /proc/self/fd/<O_PATH fd of its directory> (where chown is slow: copy-ups, FUSE,
// network file systems). Set-id files are always re-owned synchronously, keeping their mode.
import * as fs from 'node:fs';
import { type FsPath, type Frame, O_PATH, OVERLAYFS, join, sameFile } from './dir-ops.js';
import type { Tally } from './tally.js';
import type { ReownRequest, ReownTuning } from './types.js';

/** If the first 256 synchronous chowns averaged more than this (copy-ups, round trips), pool the rest. */
const SLOW_CHOWN_MS = 0.25;
/** Chowns in flight through libuv's threadpool when pooled (overlayfs and other slow chowns). */
export const POOL_IN_FLIGHT = 64;
/** statfs f_type of file systems where chown is slow: copy-up, FUSE, network. */
const SLOW_FS = new Set([
  OVERLAYFS, // every chown of a lower file copies it up
  0x65735546, // FUSE (fuse-overlayfs, sshfs, ...)
  0x6969, // NFS
  0xff534d42, // CIFS
  0xfe534d42, // SMB2
  0x01021997, // 9p
  0x00c36400, // ceph
]);
const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = fs.constants;

export class Chowns {
  /** Pooled operations not yet landed, and the waiter to wake when one lands. */
  inFlight = 0;
  private wake: (() => void) | undefined;
  readonly nudge = (): void => {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  };
  private procFd: boolean | undefined;

  constructor(
    private readonly req: ReownRequest,
    private readonly tally: Tally,
  ) {}

  /**
   * How the entries of one root are re-owned: 'pool' (or 'auto' on a SLOW_FS) pools from the
   * start; 'auto' also switches to the pool once the first 256 synchronous chowns were slow.
   */
  forTree(root: string, chowns: NonNullable<ReownTuning['chowns']>): (dir: Frame, name: FsPath, st: fs.Stats) => void {
    let pooled = (chowns === 'pool' || (chowns === 'auto' && onSlowFs(root))) && this.procFdWorks();
    let syncChowns = 0;
    let syncChownMs = 0;
    return (dir, name, st) => {
      if (pooled && !keepsMode(st)) this.pooled(dir, name, st);
      else {
        const t = syncChowns < 256 ? performance.now() : 0;
        if (this.sync(name, dir, st) && syncChowns < 256) {
          syncChownMs += performance.now() - t;
          if (++syncChowns === 256 && chowns === 'auto' && syncChownMs > 256 * SLOW_CHOWN_MS) pooled = this.procFdWorks();
        }
      }
    };
  }

  /** Resolves when a pooled operation lands, the signal aborts, or after `ms`. */
  landing(ms?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(this.nudge, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
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
  sync(p: FsPath, dir: Frame | undefined, st: fs.Stats): boolean {
    const uid = this.uidFor(st);
    const gid = this.gidFor(st);
    if (uid === -1 && gid === -1) return false;
    if (!keepsMode(st)) {
      try {
        fs.lchownSync(p, uid, gid);
        this.tally.changed++;
      } catch (err) {
        this.tally.error(dir ? join(dir.path, p) : p, err);
      }
      return true;
    }
    // chown clears S_ISUID/S_ISGID: re-own through an fd that is the lstat'ed file, then fchmod.
    let fd: number;
    try {
      fd = fs.openSync(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch (err) {
      this.tally.error(dir ? join(dir.path, p) : p, err);
      return true;
    }
    try {
      if (!sameFile(fs.fstatSync(fd), st)) throw new Error('replaced during the walk; left alone');
      fs.fchownSync(fd, uid, gid);
      this.tally.changed++;
      fs.fchmodSync(fd, st.mode & 0o7777);
    } catch (err) {
      this.tally.error(dir ? join(dir.path, p) : p, err);
    } finally {
      fs.closeSync(fd);
    }
    return true;
  }

  /** Re-owns an entry through the threadpool, naming it through an fd of its directory. */
  private pooled(dir: Frame, name: FsPath, st: fs.Stats): void {
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
        this.tally.error(join(dir.path, name), err);
        return;
      }
      dir.fd = fd;
    }
    const via = typeof name === 'string' ? `/proc/self/fd/${dir.fd}/${name}` : Buffer.concat([Buffer.from(`/proc/self/fd/${dir.fd}/`), name]);
    this.inFlight++;
    dir.pending++;
    fs.lchown(via, uid, gid, (err) => {
      if (err) this.tally.error(join(dir.path, name), err);
      else this.tally.changed++;
      this.inFlight--;
      dir.pending--;
      if (dir.left) release(dir);
      this.nudge();
    });
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
}

/** Closes a frame's fd once no pooled chown needs it. */
export function release(f: Frame): void {
  f.left = true;
  if (f.fd >= 0 && f.pending === 0) {
    fs.closeSync(f.fd);
    f.fd = -1;
  }
}

/** chown(2) clears S_ISUID/S_ISGID of regular files: such files are re-owned keeping their mode. */
function keepsMode(st: fs.Stats): boolean {
  return st.isFile() && (st.mode & 0o6000) !== 0;
}

/** Whether chown is slow where `root` lives (statfs follows a symlink root: harmless). */
function onSlowFs(root: string): boolean {
  try {
    return SLOW_FS.has(fs.statfsSync(root).type);
  } catch {
    return false;
  }
}
