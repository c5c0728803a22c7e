// Finds the file to exec with the target user's rights and decides, the way the kernel will,
// whether execve(2) accepts it: the '#!' chain to its real depth, each ELF's header and its
// dynamic loader, binfmt_misc. Errors carry 127 (not found) or 126 (found, cannot execute),
// like env(1) and the shells.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EXIT_CANNOT_EXECUTE, EXIT_NOT_FOUND, errnoCode, fail } from '../system/errors.js';
import { BINPRM_BUF_SIZE, type BinfmtEntry, type Format, type ReadAt, binfmtMatches, detectFormat, hostMachineName, loaderProblem, machineName, parseBinfmtEntry } from './preflight.js';

/** Debian's default for PATH when the environment has none (login.defs ENV_PATH for root). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export type Probe = 'executable' | 'missing' | 'unsearchable' | 'not-executable' | 'directory' | 'not-regular';

/** binfmt_misc as this process sees it: 'unknown' when not mounted (common in containers). */
export type Binfmt = 'unknown' | { enabled: boolean; entries: BinfmtEntry[] };

/** What the filesystem says about a candidate; injectable so lookup is unit-tested without root. */
export interface FileSystem {
  /** whether the target may execute the file, as execve's open_exec decides */
  probe(file: string): Probe;
  /** runs parse over the file's bytes; 'unreadable' when even root may not read it */
  read<T>(file: string, parse: (read: ReadAt) => T): T | 'unreadable';
  binfmt(): Binfmt;
}

/** Whose execute permission probe() decides, when it cannot simply ask access(2). */
export interface Rights {
  uid: number;
  gid: number;
  groups: number[];
}

const BINFMT_DIR = '/proc/sys/fs/binfmt_misc';

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
        const code = errnoCode(err);
        return code === 'EACCES' ? 'unsearchable' : 'missing';
      }
      if (st.isDirectory()) return 'directory';
      if (!st.isFile()) return 'not-regular';
      if (opts.as && !mayExecute(st, opts.as)) return 'not-executable';
      try {
        fs.accessSync(file, fs.constants.X_OK);
        return 'executable';
      } catch {
        return 'not-executable';
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
        return parse((offset, length) => {
          const buf = Buffer.alloc(length);
          let n = 0;
          while (n < length) {
            const got = fs.readSync(fd, buf, n, length - n, offset + n);
            if (got === 0) break;
            n += got;
          }
          return buf.subarray(0, n);
        });
      } finally {
        fs.closeSync(fd);
      }
    },
    binfmt() {
      let status: string;
      try {
        status = fs.readFileSync(path.join(BINFMT_DIR, 'status'), 'utf8').trim();
      } catch {
        return 'unknown';
      }
      const entries: BinfmtEntry[] = [];
      let names: string[];
      try {
        names = fs.readdirSync(BINFMT_DIR);
      } catch {
        return 'unknown';
      }
      for (const name of names) {
        if (name === 'status' || name === 'register') continue;
        try {
          const entry = parseBinfmtEntry(fs.readFileSync(path.join(BINFMT_DIR, name), 'utf8'));
          if (entry) entries.push(entry);
        } catch {
          // an entry removed while we read: ignore it
        }
      }
      return { enabled: status === 'enabled', entries };
    },
  };
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
    const candidate = path.join(dir, name);
    const probe = fsys.probe(candidate);
    if (!path.isAbsolute(dir)) {
      if (probe !== 'missing' && probe !== 'unsearchable') relativeHit ??= dir === '' ? `an empty PATH entry` : `the relative PATH entry '${dir}'`;
      continue;
    }
    if (probe === 'executable') return candidate;
    // like execvp: a file we may not run is remembered; a directory we may not search is skipped
    if (probe !== 'missing' && probe !== 'unsearchable') denied ??= { file: candidate, probe };
  }
  if (denied) checkCandidate(denied.file, denied.probe, uid);
  if (relativeHit) {
    fail(`'${name}' was found only through ${relativeHit}, which stepdown never searches; give its absolute path`, EXIT_NOT_FOUND);
  }
  fail(`command '${name}' not found in PATH (${pathEnv ?? `unset, searched ${DEFAULT_PATH}`})`, EXIT_NOT_FOUND);
}

function checkCandidate(file: string, probe: Probe, uid: number | undefined): void {
  switch (probe) {
    case 'executable':
      return;
    case 'missing':
      fail(`${file}: no such file`, EXIT_NOT_FOUND);
    case 'directory':
      fail(`${file}: is a directory, not a program`, EXIT_CANNOT_EXECUTE);
    case 'not-regular':
      fail(`${file}: not a regular file`, EXIT_CANNOT_EXECUTE);
    case 'unsearchable':
      fail(`${file}: permission denied: uid ${uid ?? '?'} cannot search one of its directories`, EXIT_CANNOT_EXECUTE);
    case 'not-executable':
      fail(`${file}: permission denied: uid ${uid ?? '?'} may not execute it`, EXIT_CANNOT_EXECUTE);
  }
}

/**
 * Linux rewrites a command through at most this many '#!' (or binfmt_misc) levels: exec_binprm
 * returns ELOOP at the sixth. Measured: a chain of five scripts ending in /bin/sh runs, six do not.
 */
export const MAX_REWRITES = 5;

/** One '#!' level: binfmt_script turns `script args…` into `interpreter [arg] script args…`. */
export interface ScriptLevel {
  script: string;
  interpreter: string;
  arg: string | null;
}

/** What the kernel will open for this command: every file needs execute permission. */
export interface Chain {
  files: string[];
  scripts: ScriptLevel[];
}

/**
 * Follows what execve will do with `file` and fails with 126/127 wherever the kernel would
 * refuse it. Returns the files execve opens (for the final access check) and the '#!' levels
 * (which add to the argument space).
 */
export function checkExecutable(file: string, fsys: FileSystem): Chain {
  const chain: Chain = { files: [file], scripts: [] };
  const where = (current: string) => (current === file ? file : `${file}: its '#!' interpreter ${current}`);
  const binfmt = fsys.binfmt();
  let current = file;
  for (let level = 0; ; level++) {
    const tooDeep = () => {
      const levels = [...chain.scripts.map((s) => s.script), current].join(' → ');
      fail(`${file}: too many nested interpreters: ${levels} is ${level + 1} levels of '#!', Linux runs at most ${MAX_REWRITES} (ELOOP)`, EXIT_CANNOT_EXECUTE);
    };
    // binfmt_misc is asked first (it registers at the head of the kernel's list of handlers);
    // what its handler then does is the kernel's business
    if (claimedByBinfmtMisc(current, fsys, binfmt)) {
      if (level >= MAX_REWRITES) tooDeep();
      return chain;
    }
    const format = fsys.read(current, (read) => detectFormat(read));
    if (format === 'unreadable') return chain; // only root without CAP_DAC_OVERRIDE gets here
    if (format.kind === 'elf') {
      checkLoader(where(current), format, fsys, chain);
      return chain;
    }
    if (format.kind === 'foreign-elf' && binfmt === 'unknown') return chain; // qemu-user may be registered on the host
    if (format.kind !== 'script') refuseFormat(where(current), format);
    if (level >= MAX_REWRITES) tooDeep();
    const interp = format.interpreter;
    const probe = fsys.probe(interp);
    if (probe === 'missing') fail(`${where(current)}: its '#!' interpreter ${interp} does not exist`, EXIT_NOT_FOUND);
    if (probe !== 'executable') fail(`${where(current)}: its '#!' interpreter ${interp} cannot be executed (${probe})`, EXIT_CANNOT_EXECUTE);
    chain.scripts.push({ script: current, interpreter: interp, arg: format.arg });
    chain.files.push(interp);
    current = interp;
  }
}

function checkLoader(what: string, format: Extract<Format, { kind: 'elf' }>, fsys: FileSystem, chain: Chain): void {
  const interp = format.interpreter;
  if (interp === null) return;
  const label = 'ELF interpreter (dynamic loader)';
  const probe = fsys.probe(interp);
  if (probe === 'missing') {
    fail(`${what}: its ${label} ${interp} does not exist; the binary was built for a C library this image lacks (glibc vs musl?)`, EXIT_NOT_FOUND);
  }
  if (probe !== 'executable') fail(`${what}: its ${label} ${interp} cannot be executed (${probe})`, EXIT_CANNOT_EXECUTE);
  chain.files.push(interp);
  const problem = fsys.read(interp, (read) => loaderProblem(read, format.elfClass, format.machine, format.le));
  if (problem !== 'unreadable' && problem !== undefined) fail(`${what}: its ${label} ${interp} ${problem}`, EXIT_CANNOT_EXECUTE);
}

/** Whether an enabled binfmt_misc handler claims the file (by its first bytes or its name). */
function claimedByBinfmtMisc(file: string, fsys: FileSystem, binfmt: Binfmt): boolean {
  if (binfmt === 'unknown' || !binfmt.enabled || !binfmt.entries.some((e) => e.enabled)) return false;
  const head = fsys.read(file, (read) => read(0, BINPRM_BUF_SIZE));
  return head !== 'unreadable' && binfmt.entries.some((e) => binfmtMatches(e, head, file));
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
      const what = f === chain.files[0] ? f : `${chain.files[0]}: ${f}`;
      fail(`${what}: permission denied: uid ${uid ?? '?'} may not execute it (${errnoCode(err) ?? String(err)})`, EXIT_CANNOT_EXECUTE);
    }
  }
}
