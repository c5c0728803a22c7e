// Finds the file to exec with the target user's rights and decides, the way the kernel will,
// whether execve(2) accepts it: the '#!' chain to its real depth, each ELF's header and its
// dynamic loader, binfmt_misc. Errors carry 127 (not found) or 126 (found, cannot execute),
// like env(1) and the shells.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mountinfoFields, unescapeOctal } from '../system/mountinfo.js';
import { EXIT_CANNOT_EXECUTE, EXIT_NOT_FOUND, errnoCode, fail } from '../system/errors.js';
import { type Binfmt, type BinfmtEntry, claimedByBinfmtMisc, readBinfmt } from './binfmt.js';
import { BINPRM_BUF_SIZE, type FilePath, type Format, type ReadAt, detectFormat, hostMachineName, loaderProblem, machineName, showPath } from './preflight.js';

/** Debian's default for PATH when the environment has none (login.defs ENV_PATH for root). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export type Probe =
  | 'executable'
  | 'missing'
  | 'unsearchable'
  | 'not-executable'
  | 'noexec-mount'
  | 'directory'
  | 'not-regular'
  /** ELOOP, ENOTDIR, ENAMETOOLONG: execve fails with these, and execvp stops (ENOTDIR aside) */
  | 'symlink-loop'
  | 'not-directory'
  | 'name-too-long';

/** What the filesystem says about a candidate; injectable so lookup is unit-tested without root. */
export interface FileSystem {
  /** whether the target may execute the file, as execve's open_exec decides */
  probe(file: FilePath): Probe;
  /** runs parse over the file's bytes; 'unreadable' when even root may not read it */
  read<T>(file: FilePath, parse: (read: ReadAt) => T): T | 'unreadable';
  binfmt(): Binfmt;
}

/** Whose execute permission probe() decides, when it cannot simply ask access(2). */
export interface Rights {
  uid: number;
  gid: number;
  groups: number[];
}

/**
 * Pure: the permission check execve makes on a regular file for these rights (ACLs aside).
 * Root may run a file when any execute bit is set.
 */
export function mayExecute(st: { mode: number; uid: number; gid: number }, who: Rights): boolean {
  if (who.uid === 0) return (st.mode & 0o111) !== 0;
  if (st.uid === who.uid) return (st.mode & 0o100) !== 0;
  if (st.gid === who.gid || who.groups.includes(st.gid)) return (st.mode & 0o010) !== 0;
  return (st.mode & 0o001) !== 0;
}

/**
 * The real filesystem. Without `as`, the process already has the target's ids and access(2)
 * answers for it. With `as` (during the drop: effective uid the target, real uid still root)
 * stat and open run with the target's rights, access(2) answers for root (which still catches
 * a noexec mount and a file nobody may run) and the mode bits are checked for the target.
 * `asRoot` reads a file the target may run but not read (mode 0711): the kernel reads it anyway.
 */
export function realFileSystem(opts: { as?: Rights; asRoot?: <T>(fn: () => T) => T } = {}): FileSystem {
  return {
    probe(file) {
      let st: fs.Stats;
      try {
        st = fs.statSync(file);
      } catch (err) {
        return STAT_ERRORS[errnoCode(err) ?? ''] ?? 'missing';
      }
      if (st.isDirectory()) return 'directory';
      if (!st.isFile()) return 'not-regular';
      if (opts.as && !mayExecute(st, opts.as)) return 'not-executable';
      try {
        fs.accessSync(file, fs.constants.X_OK);
        return 'executable';
      } catch {
        return (st.mode & 0o111) !== 0 && onNoexecMount(file, st.dev) ? 'noexec-mount' : 'not-executable';
      }
    },
    read(file, parse) {
      let fd: number;
      try {
        fd = fs.openSync(file, 'r');
      } catch (err) {
        const code = errnoCode(err);
        if (!opts.asRoot || (code !== 'EACCES' && code !== 'EPERM')) return 'unreadable';
        try {
          fd = opts.asRoot(() => fs.openSync(file, 'r'));
        } catch {
          return 'unreadable'; // root without CAP_DAC_OVERRIDE: the kernel decides
        }
      }
      try {
        const size = fs.fstatSync(fd).size;
        return parse((offset, length) => {
          // an offset from the file's own header: past the end (or past what a position can
          // hold) reads nothing, like the kernel's short read
          if (!Number.isSafeInteger(offset) || offset < 0 || offset >= size) return Buffer.alloc(0);
          const buf = Buffer.alloc(Math.min(length, size - offset));
          let n = 0;
          while (n < buf.length) {
            const got = fs.readSync(fd, buf, n, buf.length - n, offset + n);
            if (got === 0) break;
            n += got;
          }
          return buf.subarray(0, n);
        });
      } finally {
        fs.closeSync(fd);
      }
    },
    binfmt: readBinfmt,
  };
}

const STAT_ERRORS: Record<string, Probe> = {
  EACCES: 'unsearchable',
  ELOOP: 'symlink-loop',
  ENOTDIR: 'not-directory',
  ENAMETOOLONG: 'name-too-long',
};

/**
 * Whether the file lies on a mount with noexec (the kernel then refuses execve with EACCES
 * whatever the mode): the mount with the file's device whose mount point is the longest prefix
 * of its real path, from /proc/self/mountinfo.
 */
function onNoexecMount(file: FilePath, dev: number): boolean {
  let real: Buffer;
  let info: Buffer;
  try {
    real = fs.realpathSync(file, { encoding: 'buffer' });
    info = fs.readFileSync('/proc/self/mountinfo');
  } catch {
    return false;
  }
  // glibc's major()/minor() of st_dev, as mountinfo's third field shows them
  const d = BigInt(dev);
  const devId = `${((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn)}:${(d & 0xffn) | ((d >> 12n) & ~0xffn)}`;
  const realPath = real.toString('latin1');
  let best: { point: string; noexec: boolean } | undefined;
  for (const f of mountinfoFields(info)) {
    if (f.length < 6 || f[2]!.toString('latin1') !== devId) continue;
    const point = unescapeOctal(f[4]!).toString('latin1');
    const inside = point === '/' || realPath === point || realPath.startsWith(point + '/');
    if (inside && (best === undefined || point.length >= best.point.length)) best = { point, noexec: f[5]!.toString('latin1').split(',').includes('noexec') };
  }
  return best?.noexec ?? false;
}

/** Resolves a command name like execvp would, minus its dangers. Returns the file to exec. */
export function resolveCommand(name: string, pathEnv: string | undefined, fsys: FileSystem, uid = process.geteuid?.()): string {
  if (name === '') fail('the command is an empty string; name a program to run', EXIT_NOT_FOUND);
  if (name.includes('/')) {
    checkCandidate(name, fsys.probe(name), uid);
    return name;
  }
  const entries = (pathEnv ?? DEFAULT_PATH).split(':');
  let denied: { file: string; probe: Probe } | undefined;
  let relativeHit: string | undefined;
  for (const dir of entries) {
    // plain concatenation, as execvp builds it: the kernel resolves '..' after a symlink
    // physically, so a lexical path.join could name another file
    const candidate = dir === '' ? name : `${dir}/${name}`;
    const probe = fsys.probe(candidate);
    if (!path.isAbsolute(dir)) {
      if (probe !== 'missing' && probe !== 'unsearchable') relativeHit ??= dir === '' ? `an empty PATH entry` : `the relative PATH entry '${dir}'`;
      continue;
    }
    if (probe === 'executable') return candidate;
    // like execvp: a file we may not run is remembered; a directory we may not search, or a
    // file where a directory should be, is skipped; a symlink loop or an over-long name stops
    if (probe === 'symlink-loop' || probe === 'name-too-long') checkCandidate(candidate, probe, uid);
    if (probe !== 'missing' && probe !== 'unsearchable' && probe !== 'not-directory') denied ??= { file: candidate, probe };
  }
  if (denied) checkCandidate(denied.file, denied.probe, uid);
  if (relativeHit) {
    fail(`'${name}' was found only through ${relativeHit}, which stepdown never searches; give its absolute path`, EXIT_NOT_FOUND);
  }
  fail(`command '${name}' not found in PATH (${pathEnv ?? `unset, searched ${DEFAULT_PATH}`})`, EXIT_NOT_FOUND);
}

function checkCandidate(file: string, probe: Probe, uid: number | undefined): void {
  if (probe === 'executable') return;
  fail(`${shortPath(file)}: ${probeWords(probe, uid)}`, probe === 'missing' ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE);
}

/** Why execve would refuse a file, in the words of its errno (as the shells say it). */
function probeWords(probe: Exclude<Probe, 'executable'>, uid: number | undefined): string {
  switch (probe) {
    case 'missing':
      return 'no such file';
    case 'directory':
      return 'is a directory, not a program';
    case 'not-regular':
      return 'not a regular file';
    case 'unsearchable':
      return `permission denied: uid ${uid ?? '?'} cannot search one of its directories`;
    case 'not-executable':
      return `permission denied: uid ${uid ?? '?'} may not execute it`;
    case 'noexec-mount':
      return 'permission denied: it is on a noexec mount; mount it without noexec, or put the program elsewhere';
    case 'symlink-loop':
      return 'too many levels of symbolic links (ELOOP)';
    case 'not-directory':
      return 'not a directory (ENOTDIR): a part of the path before the last names a file';
    case 'name-too-long':
      return 'file name too long (ENAMETOOLONG)';
  }
}

/** A path for a message, shortened when it is longer than any line should be. */
function shortPath(p: FilePath): string {
  const shown = showPath(p);
  return shown.length > 200 ? `${shown.slice(0, 100)}…(${Buffer.byteLength(shown)} bytes)` : shown;
}

/**
 * Linux rewrites a command through at most this many '#!' (or binfmt_misc) levels: exec_binprm
 * returns ELOOP at the sixth. Measured: a chain of five scripts ending in /bin/sh runs, six do not.
 */
export const MAX_REWRITES = 5;

/** One '#!' level: binfmt_script turns `script args…` into `interpreter [arg] script args…`. */
export interface ScriptLevel {
  /** as shown in messages (non-UTF-8 bytes escaped); its length is what argument space counts */
  script: string;
  interpreter: string;
  arg: string | null;
}

/** What the kernel will open for this command: every file needs execute permission. */
export interface Chain {
  files: FilePath[];
  scripts: ScriptLevel[];
}

/**
 * Follows what execve will do with `file` and fails with 126/127 wherever the kernel would
 * refuse it. Returns the files execve opens (for the final access check) and the '#!' levels
 * (which add to the argument space).
 */
export function checkExecutable(file: string, fsys: FileSystem): Chain {
  const chain: Chain = { files: [file], scripts: [] };
  const where = (current: FilePath) => (current === file ? file : `${file}: its '#!' interpreter ${shortPath(current)}`);
  const binfmt = fsys.binfmt();
  let current: FilePath = file;
  for (let level = 0; ; level++) {
    const tooDeep = () => {
      const levels = [...chain.scripts.map((s) => s.script), showPath(current)].join(' → ');
      fail(`${file}: too many nested interpreters: ${levels} is ${level + 1} levels of '#!', Linux runs at most ${MAX_REWRITES} (ELOOP)`, EXIT_CANNOT_EXECUTE);
    };
    // binfmt_misc is asked first (it registers at the head of the kernel's list of handlers);
    // what its handler then does is the kernel's business
    const handler = claimedByBinfmtMisc(binfmt, () => fsys.read(current, (read) => read(0, BINPRM_BUF_SIZE)), showPath(current));
    if (handler) {
      if (level >= MAX_REWRITES) tooDeep();
      checkBinfmtHandler(where(current), handler, fsys);
      return chain;
    }
    const format: Format | 'unreadable' = fsys.read(current, (read) => detectFormat(read));
    if (format === 'unreadable') return chain; // only root without CAP_DAC_OVERRIDE gets here
    if (format.kind === 'elf') {
      checkLoader(where(current), format, fsys, chain);
      return chain;
    }
    if (format.kind === 'foreign-elf' && binfmt === 'unknown') return chain; // qemu-user may be registered on the host
    if (format.kind !== 'script') refuseFormat(where(current), format);
    if (level >= MAX_REWRITES) tooDeep();
    const interp: FilePath = format.interpreter;
    const probe = fsys.probe(interp);
    if (probe === 'missing') fail(`${where(current)}: its '#!' interpreter ${shortPath(interp)} does not exist`, EXIT_NOT_FOUND);
    if (probe !== 'executable') fail(`${where(current)}: its '#!' interpreter ${shortPath(interp)}: ${probeWords(probe, process.geteuid?.())}`, EXIT_CANNOT_EXECUTE);
    chain.scripts.push({ script: showPath(current), interpreter: showPath(interp), arg: format.arg });
    chain.files.push(interp);
    current = interp;
  }
}

function checkLoader(what: string, format: Extract<Format, { kind: 'elf' }>, fsys: FileSystem, chain: Chain): void {
  const interp = format.interpreter;
  if (interp === null) return;
  const label = 'ELF interpreter (dynamic loader)';
  const probe = fsys.probe(interp);
  const shown = shortPath(interp);
  if (probe === 'missing') {
    fail(`${what}: its ${label} ${shown} does not exist; the binary was built for a C library this image lacks (glibc vs musl?)`, EXIT_NOT_FOUND);
  }
  if (probe !== 'executable') fail(`${what}: its ${label} ${shown}: ${probeWords(probe, process.geteuid?.())}`, EXIT_CANNOT_EXECUTE);
  chain.files.push(interp);
  const problem = fsys.read(interp, (read) => loaderProblem(read, format.elfClass, format.machine, format.le));
  if (problem !== 'unreadable' && problem !== undefined) fail(`${what}: its ${label} ${shown} ${problem}`, EXIT_CANNOT_EXECUTE);
}

/**
 * The kernel opens a binfmt_misc handler's interpreter at exec time (open_exec: it must exist
 * and be executable), unless the entry has the F flag: then it was opened at registration and
 * may be missing from this mount namespace. What the interpreter then does is its business.
 */
function checkBinfmtHandler(what: string, entry: BinfmtEntry, fsys: FileSystem): void {
  if (entry.preopened || entry.interpreter === undefined) return;
  const probe = fsys.probe(entry.interpreter);
  if (probe === 'executable') return;
  const shown = shortPath(entry.interpreter);
  if (probe === 'missing') {
    fail(`${what}: the binfmt_misc handler that claims it runs ${shown}, which does not exist here; install it, or register the handler with the F flag`, EXIT_NOT_FOUND);
  }
  fail(`${what}: the binfmt_misc handler that claims it runs ${shown}: ${probeWords(probe, process.geteuid?.())}`, EXIT_CANNOT_EXECUTE);
}

function refuseFormat(what: string, format: Extract<Format, { kind: 'unknown' | 'foreign-elf' }>): never {
  if (format.kind === 'unknown') fail(`${what}: exec format error: ${format.reason}`, EXIT_CANNOT_EXECUTE);
  const host = hostMachineName();
  fail(
    `${what}: exec format error: built for ${machineName(format.machine)}, this machine runs ${host}, ` +
      `and no binfmt_misc handler runs it (install qemu-user-binfmt on the host, or use a ${host} build)`,
    EXIT_CANNOT_EXECUTE,
  );
}

/** The file to exec and what execve will open for it. */
export interface Found {
  file: string;
  chain: Chain;
}

/** Resolves the command and checks it as execve will: 127/126 errors, or the file to exec. */
export function findCommand(name: string, pathEnv: string | undefined, fsys: FileSystem): Found {
  const file = resolveCommand(name, pathEnv, fsys);
  return { file, chain: checkExecutable(file, fsys) };
}

/**
 * After the final drop (real uid = the target): access(2) confirms, for every file execve will
 * open, what was decided from the mode bits during the drop (ACLs, noexec mounts).
 */
export function confirmExecutable(chain: Chain, uid = process.getuid?.()): void {
  for (const f of chain.files) {
    try {
      fs.accessSync(f, fs.constants.X_OK);
    } catch (err) {
      const what = f === chain.files[0] ? showPath(f) : `${showPath(chain.files[0]!)}: ${showPath(f)}`;
      fail(`${what}: permission denied: uid ${uid ?? '?'} may not execute it (${errnoCode(err) ?? String(err)})`, EXIT_CANNOT_EXECUTE);
    }
  }
}
