// Replaces /etc/passwd or /etc/group so that every write is complete or fails with the old
// bytes in place.
//
// - Renaming (the normal case): a temp file with a unique name beside the file's real target
//   (a symlinked /etc/passwd keeps its link; the file it points to is replaced), same mode and
//   owner, every byte written (a short write is continued, ENOSPC is an error), fsync, read
//   back and compared, then renamed over the target and the directory fsynced. The temp file is
//   staged before anything else changes (stage), renamed last (commit), removed on failure.
// - In place, where renaming cannot work: a bind-mounted file (rename gives EBUSY) or a
//   read-only /etc with a writable file. This cannot be atomic: a crash in the middle of the
//   writes can leave a mix of old and new bytes. What it does guarantee, short of a crash, is
//   that the file is never cut or padded: when the new content is longer, the extra tail is
//   appended first (ENOSPC there is undone by truncating back to the old length, before any old
//   byte was overwritten); then the head is overwritten, which needs no new blocks on
//   filesystems that overwrite in place (ext4, xfs, tmpfs; not copy-on-write btrfs or zfs);
//   then the file is truncated to the new length, fsynced, read back and compared. Any failure
//   writes the old bytes back and reports it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errnoCode, fail } from './errors.js';

export interface StagedWrite {
  /** the name the caller uses, e.g. /etc/passwd */
  file: string;
  /** the file actually replaced: file with symlinks resolved */
  target: string;
  bytes: Buffer;
  /** set when a temp file holds the new bytes, ready to rename */
  tmp?: string;
}

/** The prefix of stepdown's temp files beside target (a killed run may leave one behind). */
export function tempPrefix(target: string): string {
  return `.${path.basename(target)}.stepdown-`;
}

/** pid-random: unique between processes (pid) and between PID namespaces sharing /etc (random);
 * files are created with O_EXCL, so a clash fails instead of sharing a file. Not node:crypto:
 * loading it would cost every start. */
export function uniqueSuffix(): string {
  return `${process.pid}-${Math.random().toString(16).slice(2, 14).padEnd(12, '0')}`;
}

const WRITE_ERRORS = new Set(['EROFS', 'EACCES', 'EPERM']);

/**
 * Writes bytes to a temp file beside file's target, or, where no temp file can be created
 * (read-only or unwritable directory), checks that the file itself can be rewritten in place.
 * Returns undefined if neither is possible (nothing can be written). Fails on anything else.
 */
export function stage(file: string, bytes: Buffer): StagedWrite | undefined {
  const target = realTarget(file);
  const st = fs.statSync(target);
  const dir = path.dirname(target);
  const tmp = path.join(dir, `${tempPrefix(target)}${uniqueSuffix()}`);
  let fd: number;
  try {
    fd = fs.openSync(tmp, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    if (!WRITE_ERRORS.has(errnoCode(err) ?? '')) fail(`cannot create a temp file beside ${target}: ${describe(err)}; ${file} is unchanged`);
    return writableInPlace(target) ? { file, target, bytes } : undefined;
  }
  try {
    fs.fchownSync(fd, st.uid, st.gid);
    fs.fchmodSync(fd, st.mode & 0o7777);
    writeAll(fd, bytes, 0);
    fs.fsyncSync(fd);
    if (!readAll(fd).equals(bytes)) throw Object.assign(new Error('the bytes read back differ from those written'), { code: 'EIO' });
  } catch (err) {
    closeQuietly(fd);
    removeQuietly(tmp);
    fail(`cannot write ${file}: ${describe(err)} (writing ${tmp}); ${file} is unchanged`);
  }
  fs.closeSync(fd);
  // The directory takes a temp file, but the file itself may be a read-only bind mount
  // (`-v ./passwd:/etc/passwd:ro`): renaming onto a mount point fails (EBUSY) and so would the
  // in-place rewrite. Found now, before anything changes, it counts as unwritable.
  if (onReadOnlyMount(target)) {
    removeQuietly(tmp);
    return undefined;
  }
  return { file, target, bytes, tmp };
}

/** Puts the staged bytes in place: rename, or (EBUSY, or no temp file) rewrite in place. */
export function commit(w: StagedWrite): 'renamed' | 'in-place' {
  if (w.tmp !== undefined) {
    try {
      fs.renameSync(w.tmp, w.target);
    } catch (err) {
      removeQuietly(w.tmp);
      if (errnoCode(err) !== 'EBUSY') fail(`cannot replace ${w.file}: ${describe(err)} (renaming ${w.tmp}); ${w.file} is unchanged`);
      rewriteInPlace(w.file, w.target, w.bytes);
      return 'in-place';
    }
    syncDir(path.dirname(w.target));
    return 'renamed';
  }
  rewriteInPlace(w.file, w.target, w.bytes);
  return 'in-place';
}

/** Removes a staged temp file that will not be committed. */
export function discard(w: StagedWrite): void {
  if (w.tmp !== undefined) removeQuietly(w.tmp);
}

/** Removes temp files a killed run left beside file's target. Only under the /etc lock. */
export function removeStaleTemps(file: string): void {
  try {
    const target = realTarget(file);
    const dir = path.dirname(target);
    for (const name of fs.readdirSync(dir)) if (name.startsWith(tempPrefix(target))) removeQuietly(path.join(dir, name));
  } catch {
    // a read-only or unreadable /etc has no temp files of ours to clean
  }
}

function realTarget(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch (err) {
    fail(`cannot resolve ${file}: ${describe(err)}`);
  }
}

/** Whether opening target for writing (nothing is written) says read-only file system; any
 * other error is left for the rename to report. */
function onReadOnlyMount(target: string): boolean {
  try {
    fs.closeSync(fs.openSync(target, fs.constants.O_RDWR | fs.constants.O_NONBLOCK));
    return false;
  } catch (err) {
    return errnoCode(err) === 'EROFS';
  }
}

function writableInPlace(target: string): boolean {
  try {
    fs.closeSync(fs.openSync(target, fs.constants.O_RDWR));
    return true;
  } catch (err) {
    if (WRITE_ERRORS.has(errnoCode(err) ?? '')) return false;
    fail(`cannot open ${target} for writing: ${describe(err)}`);
  }
}

function rewriteInPlace(file: string, target: string, bytes: Buffer): void {
  let fd: number;
  try {
    fd = fs.openSync(target, fs.constants.O_RDWR);
  } catch (err) {
    fail(`cannot open ${file} to rewrite it in place: ${describe(err)}; it is unchanged`);
  }
  try {
    const old = readAll(fd);
    // 1. grow first: if the tail does not fit, truncating back restores the old file exactly
    if (bytes.length > old.length) {
      try {
        writeAll(fd, bytes.subarray(old.length), old.length);
        fs.fsyncSync(fd);
      } catch (err) {
        try {
          fs.ftruncateSync(fd, old.length);
        } catch {
          // the old bytes are untouched; only the length may be off, which the read below shows
        }
        fail(`cannot rewrite ${file} in place: ${describe(err)}; ${readAll(fd).equals(old) ? 'it is unchanged' : 'its old bytes are intact but it may have extra bytes at the end: check it'}`);
      }
    }
    // 2. overwrite the head, 3. cut to length, 4. check
    try {
      writeAll(fd, bytes.subarray(0, Math.min(bytes.length, old.length)), 0);
      if (bytes.length < old.length) fs.ftruncateSync(fd, bytes.length);
      fs.fsyncSync(fd);
      if (!readAll(fd).equals(bytes)) throw Object.assign(new Error('the bytes read back differ from those written'), { code: 'EIO' });
    } catch (err) {
      const restored = restore(fd, old);
      fail(`cannot rewrite ${file} in place: ${describe(err)}; ${restored ? 'its old bytes were put back' : 'putting its old bytes back failed too: restore it from the image'}`);
    }
  } finally {
    closeQuietly(fd);
  }
}

function restore(fd: number, old: Buffer): boolean {
  try {
    writeAll(fd, old, 0);
    fs.ftruncateSync(fd, old.length);
    fs.fsyncSync(fd);
    return readAll(fd).equals(old);
  } catch {
    return false;
  }
}

/** Every byte, continuing after short writes; an error (ENOSPC) throws. */
function writeAll(fd: number, data: Buffer, position: number): void {
  let done = 0;
  while (done < data.length) {
    const n = fs.writeSync(fd, data, done, data.length - done, position + done);
    if (n <= 0) throw Object.assign(new Error('write wrote nothing'), { code: 'EIO' });
    done += n;
  }
}

function readAll(fd: number): Buffer {
  const size = fs.fstatSync(fd).size;
  const buf = Buffer.alloc(size);
  let done = 0;
  while (done < size) {
    const n = fs.readSync(fd, buf, done, size - done, done);
    if (n === 0) break;
    done += n;
  }
  return buf.subarray(0, done);
}

/** Makes the rename durable; best effort: the rename itself already happened. */
function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // some filesystems refuse fsync on a directory; the new file is in place either way
  }
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // already closed
  }
}

function removeQuietly(file: string): void {
  try {
    fs.rmSync(file, { force: true });
  } catch {
    // a read-only directory: nothing of ours can be in it
  }
}

/** 'ENOSPC (no space left on device)' rather than Node's long message with the path. */
export function describe(err: unknown): string {
  const code = errnoCode(err);
  if (code && err instanceof Error && 'syscall' in err) {
    const m = /^[A-Z]+: ([^,]+)/.exec(err.message);
    return m ? `${code} (${m[1]})` : code;
  }
  return err instanceof Error ? err.message : String(err);
}
