// Replaces a file's contents so that a crash at any moment leaves either the old or the new
// bytes: a temp file in the same directory with the same mode and owner, fsync, rename, fsync
// of the directory. A bind-mounted file cannot be renamed over (EBUSY): it is rewritten in
// place instead. A read-only filesystem is reported, not fatal: the caller decides.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errnoCode } from './errors.js';

export type WriteOutcome = 'renamed' | 'in-place' | 'read-only';

export function writeFileAtomic(file: string, text: string): WriteOutcome {
  const st = fs.statSync(file);
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.stepdown-tmp`);
  let fd: number;
  try {
    fs.rmSync(tmp, { force: true }); // left by a run that was killed
    fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, st.mode & 0o7777);
  } catch (err) {
    if (errnoCode(err) === 'EROFS') return 'read-only';
    throw err;
  }
  try {
    fs.fchownSync(fd, st.uid, st.gid);
    fs.fchmodSync(fd, st.mode & 0o7777); // the umask applied at open
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    if (errnoCode(err) !== 'EBUSY') throw err;
    rewriteInPlace(file, text);
    return 'in-place';
  }
  syncDir(dir);
  return 'renamed';
}

function rewriteInPlace(file: string, text: string): void {
  const data = Buffer.from(text);
  const fd = fs.openSync(file, 'r+');
  try {
    fs.writeSync(fd, data, 0, data.length, 0);
    fs.ftruncateSync(fd, data.length);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
