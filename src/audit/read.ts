// Gathers what `stepdown --audit` judges: the texts of /proc, cgroup and /etc files, plus stat
// and access(W_OK) of a few paths. Tolerant of everything: a missing or unreadable file is
// recorded with its errno and the check that needed it says "unknown". Reads only.
import * as fs from 'node:fs';
import { BASE_FILES, type AuditInput, type FileText, type PathProbe } from './checks.js';
import { cgroupFiles } from './cgroup.js';
import { pathsToProbe } from '../system/mountinfo.js';
import { errnoCode } from '../system/errors.js';

const MAX_FILE = 1 << 20; // /proc files are small; a bigger one is not what we are looking for

function readText(path: string): FileText | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK); // a FIFO in its place must not hang the audit
    if (!fs.fstatSync(fd).isFile()) return { errno: 'ENOTREG' };
    const buf = Buffer.alloc(64 * 1024);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null); // /proc files report size 0: read until EOF
      if (n === 0 || total >= MAX_FILE) break;
      chunks.push(Buffer.from(buf.subarray(0, n)));
      total += n;
    }
    return Buffer.concat(chunks).toString('utf8');
  } catch (err) {
    const code = errnoCode(err) ?? 'EIO';
    return code === 'ENOENT' || code === 'ENOTDIR' ? undefined : { errno: code };
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function probe(path: string): PathProbe {
  try {
    const dir = fs.statSync(path).isDirectory();
    let writable = true;
    try {
      fs.accessSync(path, fs.constants.W_OK); // real uid, and EROFS on a read-only mount
    } catch {
      writable = false;
    }
    return { dir, writable };
  } catch (err) {
    return { errno: errnoCode(err) ?? 'EIO' };
  }
}

export function readAuditInput(): AuditInput {
  const files: Record<string, FileText> = {};
  const read = (path: string) => {
    const t = readText(path);
    if (t !== undefined) files[path] = t;
  };
  BASE_FILES.forEach(read);
  const text = (p: string) => (typeof files[p] === 'string' ? (files[p] as string) : undefined);
  cgroupFiles(text('/proc/self/cgroup'), text('/proc/self/mountinfo')).forEach(read);

  const paths: Record<string, PathProbe> = {};
  for (const p of pathsToProbe(text('/proc/self/mountinfo'))) paths[p] = probe(p);

  let exe: AuditInput['exe'];
  try {
    exe = { path: process.execPath, mode: fs.statSync(process.execPath).mode };
  } catch (err) {
    exe = { path: process.execPath, errno: errnoCode(err) ?? 'EIO' };
  }
  return { files, paths, exe };
}
