// Whether the command's arguments and environment fit where execve(2) copies them (the new
// stack), decided before exec: an E2BIG from execve would abort Node 24. The rule is the
// kernel's (bprm_stack_limits, copy_strings), checked by experiment: every string, NUL
// included, at most MAX_ARG_STRLEN; all strings (the file name, the environment, the
// arguments) plus one pointer per argument and per variable at most a quarter of the stack
// limit, but never less than 128 KiB nor more than 6 MiB.
import * as fs from 'node:fs';
import type { ScriptLevel } from './lookup.js';

export const MAX_ARG_STRLEN = 32 * 4096;
const ARG_MAX = 32 * 4096;
const STK_LIM_CAP = ((8 * 1024 * 1024) / 4) * 3;
const POINTER = 8;

/** Pure: the bytes execve may use for strings and pointers, given the soft stack limit. */
export function argSpace(stackLimit: number | 'unlimited'): number {
  const quarter = stackLimit === 'unlimited' ? Infinity : Math.floor(stackLimit / 4);
  return Math.max(Math.min(STK_LIM_CAP, quarter), ARG_MAX);
}

/** The soft stack limit from /proc/self/limits, undefined when it cannot be read. */
export function readStackLimit(text?: string): number | 'unlimited' | undefined {
  try {
    text ??= fs.readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
  const m = /^Max stack size\s+(\S+)/m.exec(text);
  if (!m) return undefined;
  return m[1] === 'unlimited' ? 'unlimited' : Number.isFinite(Number(m[1])) ? Number(m[1]) : undefined;
}

const size = (s: string) => Buffer.byteLength(s) + 1;

/**
 * Pure: why execve would fail with E2BIG, or undefined. `space` undefined (limits unreadable):
 * only the per-string limit is checked. '#!' levels replace argv[0] with the interpreter, its
 * argument and the script's path, as binfmt_script does.
 */
export function argSpaceProblem(file: string, argv: string[], env: Record<string, string>, scripts: ScriptLevel[], space: number | undefined): string | undefined {
  const envStrings = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  for (const [what, list] of [['argument', argv], ['environment variable', envStrings]] as const) {
    const big = list.find((s) => size(s) > MAX_ARG_STRLEN);
    if (big !== undefined) {
      const name = what === 'argument' ? `argument ${list.indexOf(big)}` : `environment variable ${big.slice(0, big.indexOf('='))}`;
      return `argument list too long: ${name} is ${size(big)} bytes, Linux takes at most ${MAX_ARG_STRLEN} per string (E2BIG); shorten it, or pass it in a file`;
    }
  }
  if (space === undefined) return undefined;
  const pointers = (Math.max(argv.length, 1) + envStrings.length) * POINTER;
  let used = size(file) + envStrings.reduce((n, s) => n + size(s), 0) + argv.reduce((n, s) => n + size(s), 0);
  let peak = used;
  let argv0 = argv[0];
  for (const level of scripts) {
    if (argv0 !== undefined) used -= size(argv0);
    used += size(level.script) + (level.arg === null ? 0 : size(level.arg)) + size(level.interpreter);
    peak = Math.max(peak, used);
    argv0 = level.interpreter;
  }
  if (pointers + peak <= space) return undefined;
  return (
    `argument list too long: ${argv.length} arguments and ${envStrings.length} environment variables take ${pointers + peak} bytes, ` +
    `Linux takes at most ${space} (a quarter of the stack limit; E2BIG); pass less, or raise the stack limit (ulimit -s, docker run --ulimit stack=…)`
  );
}
