// The environment and arguments the command will get: the container's, byte for byte, except
// HOME. Node decodes both as UTF-8 and its execve encodes strings as UTF-8, so bytes that are
// not UTF-8 cannot be passed on unchanged: stepdown refuses them instead of altering them.
//
// Under the npm entry point (bin/stepdown) a shell ran first and changed its own copy of the
// environment; the shell hands the real one over in STEPDOWN_ENVIRON_<its pid>, which
// bin/stepdown's JavaScript (same pid) takes out of process.env and gives to the bundle
// in-process. The bundle itself never reads a hand-over from the environment, so neither the
// single executable nor `node dist/stepdown.cjs` can be fed one, and a caller's own
// STEPDOWN_* variables reach the command unchanged.
import { isUtf8 } from 'node:buffer';
import * as fs from 'node:fs';
import { fail } from '../system/errors.js';

export type Environ = [string, string][];

/** What bin/stepdown's JavaScript leaves for the bundle: the shell's dump of /proc/<pid>/environ. */
export interface Launcher {
  environ?: string | undefined;
}
const LAUNCHER = Symbol.for('stepdown.launcher');

/**
 * Names a shell manages itself and may add, change or drop in the environment Node receives,
 * whatever the container set (found by experiment with dash, bash as sh and busybox ash): the
 * working directory and nesting level, getopts' state, the parent's pid, and bash's own
 * variables (its version, options and prompts, counters and clocks, POSIXLY_CORRECT in posix
 * mode). The app gets the container's values of these from the hand-over; every other name
 * must arrive in Node exactly as handed over.
 */
export const SHELL_SETS: ReadonlySet<string> = new Set([
  'PWD', 'OLDPWD', 'SHLVL', '_', 'OPTIND', 'PPID',
  'SHELLOPTS', 'BASHOPTS', 'BASH', 'BASHPID', 'BASH_ARGV0', 'BASH_COMMAND', 'BASH_SUBSHELL', 'BASH_VERSINFO',
  'BASH_VERSION', 'BASH_XTRACEFD', 'COMP_WORDBREAKS', 'EPOCHREALTIME', 'EPOCHSECONDS', 'HISTCMD', 'LINENO',
  'OPTERR', 'POSIXLY_CORRECT', 'PS1', 'PS2', 'PS4', 'RANDOM', 'SRANDOM', 'SECONDS',
]);

/** Names bin/stepdown's shell unsets before it starts Node (its own variables and Node's). */
export const SHELL_UNSETS: ReadonlySet<string> = new Set([
  'IFS', '_sd_s', '_sd_t', '_sd_n', '_sd_d', '_sd_e', '_sd_c', '_sd_m', '_sd_rest', '_sd_cur', '_sd_links', '_sd_file',
  '_sd_nl', '_sd_paths', '_sd_tops', '_sd_a', '_sd_k', '_sd_x',
  'NODE_OPTIONS', 'NODE_COMPILE_CACHE', 'NODE_COMPILE_CACHE_PORTABLE', 'NODE_DISABLE_COMPILE_CACHE',
  'NODE_V8_COVERAGE', 'NODE_CHANNEL_FD', 'NODE_CHANNEL_SERIALIZATION_MODE', 'NODE_UNIQUE_ID',
  'NODE_CLUSTER_SCHED_POLICY', 'NODE_DEBUG', 'NODE_DEBUG_NATIVE', 'NODE_EXTRA_CA_CERTS', 'NODE_ICU_DATA',
  'NODE_PATH', 'NODE_PENDING_DEPRECATION', 'NODE_NO_WARNINGS', 'NODE_REDIRECT_WARNINGS',
  'NODE_PRESERVE_SYMLINKS', 'NODE_PRESERVE_SYMLINKS_MAIN', 'NODE_REPL_EXTERNAL_MODULE',
  'NODE_REPL_HISTORY', 'NODE_REPL_HISTORY_SIZE', 'NODE_REPL_MODE', 'NODE_TEST_CONTEXT',
  'NODE_TEST_WORKER_ID', 'NODE_TLS_REJECT_UNAUTHORIZED', 'NODE_USE_ENV_PROXY', 'NODE_USE_SYSTEM_CA',
  'NODE_SKIP_PLATFORM_CHECK', 'NODE_DISABLE_COLORS', 'NODE_NO_READLINE', 'NODE_INSPECT_RESUME_ON_START',
  'NODE_RUN_SCRIPT_NAME', 'NODE_RUN_PACKAGE_JSON_PATH', 'OPENSSL_CONF', 'OPENSSL_CONF_INCLUDE',
  'OPENSSL_ENGINES', 'OPENSSL_MODULES', 'SSL_CERT_DIR', 'SSL_CERT_FILE', 'UV_THREADPOOL_SIZE', 'UV_USE_IO_URING',
]);

/**
 * The original environment, and the first variable whose bytes are not UTF-8 (escaped), if any.
 * `shadowed`: the later entries of a duplicated name, which the command does not get.
 */
export interface Original {
  environ: Environ;
  notUtf8?: string;
  shadowed?: Environ;
}

/** Pure: printable ASCII as is, every other byte as \xNN, for messages. */
export function escapeBytes(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) out += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return out;
}

/** Pure: the bytes of `od -An -v -tx8` output (little-endian 8-byte words; od pads the last with NULs). */
export function decodeDump(dump: string): Buffer | undefined {
  const words = dump.split(/[ \n]+/).filter(Boolean);
  const out = Buffer.alloc(words.length * 8);
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (!/^[0-9a-f]{16}$/.test(word)) return undefined;
    out.writeBigUInt64LE(BigInt(`0x${word}`), i * 8);
  }
  return out;
}

/**
 * Pure: parses a /proc/<pid>/environ block (NUL-separated NAME=VALUE) in its order. The first of
 * a duplicated name wins (what getenv returns; a shell may export the last); entries without
 * `=` or with an empty name are skipped.
 */
export function decodeEnviron(block: Buffer): Original {
  const seen = new Set<string>();
  const environ: Environ = [];
  const shadowed: Environ = [];
  const add = (key: string, value: string) => {
    if (seen.has(key)) {
      shadowed.push([key, value]);
      return;
    }
    seen.add(key);
    environ.push([key, value]);
  };
  // Nearly always all of it is UTF-8: then one decode and a split on NUL give the same entries
  // (NUL and '=' are ASCII, never part of a longer character) without a Buffer per entry.
  if (isUtf8(block)) {
    for (const entry of block.toString('utf8').split('\0')) {
      const eq = entry.indexOf('=');
      if (eq > 0) add(entry.slice(0, eq), entry.slice(eq + 1));
    }
    return { environ, ...(shadowed.length > 0 ? { shadowed } : {}) };
  }
  let notUtf8: string | undefined;
  let start = 0;
  while (start < block.length) {
    let end = block.indexOf(0, start);
    if (end < 0) end = block.length;
    const entry = block.subarray(start, end);
    start = end + 1;
    const eq = entry.indexOf(0x3d);
    if (eq <= 0) continue;
    if (notUtf8 === undefined && !isUtf8(entry)) notUtf8 = escapeBytes(entry.subarray(0, eq));
    add(entry.subarray(0, eq).toString('utf8'), entry.subarray(eq + 1).toString('utf8'));
  }
  return { environ, ...(notUtf8 === undefined ? {} : { notUtf8 }), ...(shadowed.length > 0 ? { shadowed } : {}) };
}

/**
 * Pure: the first name on which the environment Node received (the hand-over removed) disagrees
 * with the handed-over one, beyond what the shell is known to change: it may add, change or drop
 * SHELL_SETS, add PATH when there was none (busybox), unset SHELL_UNSETS, drop names that are
 * not shell identifiers (dash), rewrite the text of the functions bash imported
 * (BASH_FUNC_<name>%%, not identifiers either), and keep any one of a duplicated name's values
 * (`shadowed` holds the later ones). Anything else means the hand-over did not come from this
 * process's own shell.
 */
export function handoverMismatch(original: Environ, received: NodeJS.ProcessEnv, shadowed: Environ = []): string | undefined {
  const values = new Map<string, string[]>();
  for (const [key, value] of [...original, ...shadowed]) values.set(key, [...(values.get(key) ?? []), value]);
  for (const [key, value] of Object.entries(received)) {
    if (SHELL_SETS.has(key) || (key === 'PATH' && !values.has('PATH')) || /^BASH_FUNC_.*%%$/.test(key)) continue;
    const was = values.get(key);
    if (value === undefined || was === undefined) return key;
    if (!was.some((w) => w === value || (w.includes('\uFFFD') && value.includes('\uFFFD')))) return key; // not UTF-8: refused later
  }
  for (const [key] of original) {
    if (key in received || SHELL_SETS.has(key) || SHELL_UNSETS.has(key) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) continue;
    return key;
  }
  return undefined;
}

function takeLauncher(): Launcher | undefined {
  const g = globalThis as unknown as Record<symbol, Launcher | undefined>;
  const launcher = g[LAUNCHER];
  delete g[LAUNCHER];
  return launcher;
}

/**
 * The environment exactly as the container gave it: bin/stepdown's hand-over (checked against
 * what Node received), else this process's own /proc/self/environ.
 */
export function readOriginal(received: NodeJS.ProcessEnv): Original {
  const dump = takeLauncher()?.environ;
  if (dump !== undefined) {
    const block = decodeDump(dump);
    if (block === undefined) fail('the environment bin/stepdown handed over is malformed; nothing was run');
    const original = decodeEnviron(block);
    const name = handoverMismatch(original.environ, received, original.shadowed);
    if (name !== undefined) {
      fail(`the environment bin/stepdown handed over does not match the one Node received (${escapeBytes(Buffer.from(name))}); nothing was run`);
    }
    return original;
  }
  try {
    return decodeEnviron(fs.readFileSync('/proc/self/environ'));
  } catch {
    // no /proc: the run stops at /proc/self/status anyway; --version and --check need no bytes
    return { environ: Object.entries(received).filter((e): e is [string, string] => e[1] !== undefined) };
  }
}

/**
 * Refuses a command line that Node decoded with replacement characters: the command would get
 * other bytes than it was given. Costs nothing unless an argument holds U+FFFD.
 */
export function refuseAlteredArguments(args: string[]): void {
  if (!args.some((a) => a.includes('\uFFFD'))) return;
  let raw: Buffer[];
  try {
    raw = fs.readFileSync('/proc/self/cmdline').toString('latin1').split('\0').slice(0, -1).map((a) => Buffer.from(a, 'latin1'));
  } catch {
    return; // a real U+FFFD is fine; without /proc the run stops at /proc/self/status
  }
  const ours = raw.slice(raw.length - args.length);
  const bad = ours.findIndex((a) => !isUtf8(a));
  if (bad >= 0) {
    fail(`argument ${bad + 1} ('${escapeBytes(ours[bad]!)}') is not valid UTF-8: Node would pass other bytes on, so nothing was run; use UTF-8, or gosu for other bytes`);
  }
}

/** Refuses an environment with a variable that is not UTF-8 (it could not reach the command unchanged). */
export function refuseAlteredEnviron(original: Original): void {
  if (original.notUtf8 !== undefined) {
    fail(`the environment variable ${original.notUtf8} is not valid UTF-8: Node would pass other bytes on, so nothing was run; use UTF-8, or unset it`);
  }
}

export function lookup(environ: Environ, key: string): string | undefined {
  return environ.find(([k]) => k === key)?.[1];
}

/**
 * Pure: the target's environment, HOME set (in place if it was there, else appended). An object
 * without a prototype, so that a variable named `__proto__` is a variable like any other.
 * (process.execve takes an object: JavaScript puts names that are array indices, such as `10`,
 * first, in numeric order; nothing here can keep their place.)
 */
export function targetEnv(environ: Environ, home: string | undefined): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const [key, value] of environ) {
    if (key.includes('\0') || value.includes('\0')) continue;
    out[key] = value;
  }
  if (home !== undefined) out.HOME = home;
  return out;
}
