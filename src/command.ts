// Finds the file to exec, as the target user (called after the drop, so access() answers for
// them), and checks that execve(2) will accept it. Errors carry 127 (not found) or 126
// (found, cannot execute), like env(1) and the shells.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EXIT_CANNOT_EXECUTE, EXIT_NOT_FOUND, errnoCode, fail } from './errors.js';
import { type BinfmtEntry, type Format, binfmtMatches, detectFormat, hostMachineName, machineName, parseBinfmtEntry, runsNatively } from './executable.js';

/** Debian's default for PATH when the environment has none (login.defs ENV_PATH for root). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export type Probe = 'executable' | 'missing' | 'unsearchable' | 'not-executable' | 'directory' | 'not-regular';

/** binfmt_misc as this process sees it: 'unknown' when not mounted (common in containers). */
export type Binfmt = 'unknown' | { enabled: boolean; entries: BinfmtEntry[] };

/** What the filesystem says about a candidate; injectable so lookup is unit-tested without root. */
export interface FileSystem {
  probe(file: string): Probe;
  format(file: string): Format | 'unreadable';
  binfmt(): Binfmt;
}

const BINFMT_DIR = '/proc/sys/fs/binfmt_misc';

export const realFileSystem: FileSystem = {
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
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return 'executable';
    } catch {
      return 'not-executable';
    }
  },
  format(file) {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      return 'unreadable'; // execute-only binaries are fine; the kernel will read them
    }
    try {
      return detectFormat((offset, length) => {
        const buf = Buffer.alloc(length);
        const n = fs.readSync(fd, buf, 0, length, offset);
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
    for (const name of fs.readdirSync(BINFMT_DIR)) {
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

/** Resolves a command name like execvp would, minus its dangers. Returns the file to exec. */
export function resolveCommand(name: string, pathEnv: string | undefined, fsys: FileSystem): string {
  if (name === '') fail('the command is an empty string; name a program to run', EXIT_NOT_FOUND);
  if (name.includes('/')) {
    checkCandidate(name, fsys.probe(name));
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
  if (denied) checkCandidate(denied.file, denied.probe);
  if (relativeHit) {
    fail(`'${name}' was found only through ${relativeHit}, which stepdown never searches; give its absolute path`, EXIT_NOT_FOUND);
  }
  fail(`command '${name}' not found in PATH (${pathEnv ?? `unset, searched ${DEFAULT_PATH}`})`, EXIT_NOT_FOUND);
}

function checkCandidate(file: string, probe: Probe): void {
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
      fail(`${file}: permission denied: uid ${process.getuid?.() ?? '?'} cannot search one of its directories`, EXIT_CANNOT_EXECUTE);
    case 'not-executable':
      fail(`${file}: permission denied: uid ${process.getuid?.() ?? '?'} may not execute it`, EXIT_CANNOT_EXECUTE);
  }
}

const MAX_INTERPRETER_DEPTH = 4; // Linux follows at most this many nested '#!' levels

/** Fails when execve(2) would fail with ENOENT/EACCES/ENOEXEC for this file's contents. */
export function checkExecutable(file: string, fsys: FileSystem, depth = 0): void {
  const format = fsys.format(file);
  if (format === 'unreadable') return;
  if (format.kind === 'unknown') {
    fail(`${file}: exec format error: not an ELF binary and no '#!' line (a script needs one, e.g. '#!/bin/sh')`, EXIT_CANNOT_EXECUTE);
  }
  if (format.kind === 'elf' && !runsNatively(format.machine)) {
    checkForeignElf(file, format.machine, format.head, fsys.binfmt());
    return; // its loader belongs to the emulator's view of the filesystem, not ours
  }
  const interp = format.interpreter;
  if (interp === null) return;
  const what = format.kind === 'script' ? `'#!' interpreter` : 'ELF interpreter (dynamic loader)';
  const probe = fsys.probe(interp);
  if (probe === 'missing') {
    const hint = format.kind === 'elf' ? '; the binary was built for a C library this image lacks (glibc vs musl?)' : '';
    fail(`${file}: its ${what} ${interp} does not exist${hint}`, EXIT_NOT_FOUND);
  }
  if (probe !== 'executable') fail(`${file}: its ${what} ${interp} cannot be executed (${probe})`, EXIT_CANNOT_EXECUTE);
  if (format.kind === 'script') {
    if (depth + 1 >= MAX_INTERPRETER_DEPTH) fail(`${file}: too many nested '#!' interpreters`, EXIT_CANNOT_EXECUTE);
    checkExecutable(interp, fsys, depth + 1);
  }
}

/**
 * An ELF for another CPU runs only through binfmt_misc (qemu-user). When binfmt_misc is visible
 * and no enabled handler recognises the file, execve would fail with ENOEXEC (and Node 24 would
 * abort), so refuse cleanly. When it is not visible (most containers), let the kernel decide.
 */
function checkForeignElf(file: string, machine: number, head: Buffer, binfmt: Binfmt): void {
  if (binfmt === 'unknown') return;
  if (binfmt.enabled && binfmt.entries.some((e) => binfmtMatches(e, head))) return;
  const host = hostMachineName();
  fail(
    `${file}: exec format error: built for ${machineName(machine)}, this machine runs ${host}, ` +
      `and no binfmt_misc handler runs it (install qemu-user-binfmt on the host, or use a ${host} build)`,
    EXIT_CANNOT_EXECUTE,
  );
}
