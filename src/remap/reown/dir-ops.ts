// The walk's moves inside a tree: entering a directory by name (or through an fd for a name that
// is not UTF-8), listing it, checking by dev/ino that '.' is what was lstat'ed, and the caller's
// working directory it returns to whenever it pauses.
import * as fs from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { errnoCode } from '../../system/errors.js';

export type FsPath = string | Buffer;
const SLASH = Buffer.from('/');
/** Linux's O_PATH (the same on x64 and arm64): a handle on a directory without reading it. */
export const O_PATH = 0o10000000;
const { O_NOFOLLOW, O_DIRECTORY } = fs.constants;
/** statfs f_type of overlayfs. */
export const OVERLAYFS = 0x794c7630;

/** A directory being walked; the process is inside the top one while the walk runs (the bottom one stands for the caller's cwd). */
export interface Frame {
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

/** The caller's working directory: where the process is put back whenever the walk pauses. */
export class Cwd {
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

/** chdir into a directory entry (or the root): by name, or through an fd for names that are not UTF-8. */
export function chdirTo(name: FsPath): void {
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
export function listHere(): FsPath[] {
  const names = fs.readdirSync('.');
  if (!names.some((n) => n.includes('\uFFFD'))) return names;
  return fs.readdirSync('.', { encoding: 'buffer' }).map((n) => (isUtf8(n) ? n.toString() : n));
}

export function join(dir: FsPath, name: FsPath): FsPath {
  if (typeof dir === 'string' && typeof name === 'string') return `${dir}/${name}`;
  return Buffer.concat([Buffer.from(dir), SLASH, Buffer.from(name)]);
}

export function sameFile(a: { dev: number; ino: number }, b: { dev: number; ino: number }): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

export function sameFileNoThrow(p: string, b: { dev: number; ino: number }): boolean {
  try {
    return sameFile(fs.statSync(p), b);
  } catch {
    return false;
  }
}

/** Whether `root` is on a file system of this statfs type. */
export function onFsType(root: string, type: number): boolean {
  try {
    return fs.statfsSync(root).type === type;
  } catch {
    return false;
  }
}
