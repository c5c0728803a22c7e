// The hand parser against commander on seeded random command lines and every mix of
// STEPDOWN_MATCH, STEPDOWN_REMAP and STEPDOWN_GROUP_OF (unset, empty, or a value good or bad):
// wherever the hand parser takes a command line, both give the same Invocation or the same
// error (message and exit code). What it declines goes to commander, so is commander's by
// definition. The hand-picked cases are in cli-fast.test.ts.
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli.js';
import { asksOnlyForVersion, parseCommonArgs } from '../../src/cli-fast.js';
import type { OptionEnv } from '../../src/invocation.js';
import { prng } from '../helpers/prng.js';

const VERSION = 'stepdown 9.9.9 (node v0)';

function outcome(parse: () => unknown): string {
  try {
    return JSON.stringify({ ok: parse() });
  } catch (err) {
    const e = err as { message: string; exitCode?: number };
    return JSON.stringify({ error: e.message, exitCode: e.exitCode });
  }
}

// anything a command line may hold: every option, spelled right and wrong, glued values, '--',
// '-', empty strings, ids good and bad, paths that are / in disguise, non-ASCII
const WORDS = [
  '--match', '--chown', '--remap', '--group-of', '--allow-system-ids', '-q', '--quiet', '--check', '--audit', '--json',
  '--strict', '--version', '-V', '-h', '--help', '--', '-', '--match=/x', '--remap=1', '--group-of=', '--check=1', '-qV',
  '-Vq', '--vers', '--no-quiet', '—version', 'ops', 'app', '0', '1000', '1000:1000', '0:0', '', ' ', '/data', '/', '//',
  '/tmp/..', '/a:/b', '-1', 'id', 'é', '+1', '1e3', '0x10', '١٠٠٠', '4294967295', '1000:',
];
const OPTIONS = ['--match', '--chown', '--remap', '--group-of', '--allow-system-ids', '-q', '--quiet', '--check'];
const FLAGS = new Set(['--allow-system-ids', '-q', '--quiet', '--check']);
const VALUES = ['', ' ', '/data', '/', '//', '/tmp/..', '/a', '/a:/b', '1000', '1000:1000', '0', '0:0', '1000:0', '007', 'x', '-q', '4294967296', '--', '-', '--version', '-V', '--match', '-1'];
const SPECS = ['ops', '0', '1000:1000', '', 'app:app', 'é', '-', '--version'];
const ENV_VALUES = [undefined, undefined, undefined, undefined, undefined, undefined, '', '/vol', '1000', '0:0', '1000:', '/a:/b', '/a::/b', ':', 'x', ' ', '/'];

function randomArgv(rnd: (n: number) => number): string[] {
  const pick = (list: string[]) => list[rnd(list.length)]!;
  if (rnd(3) === 0) return Array.from({ length: rnd(7) }, () => pick(WORDS));
  // shaped like a real start: options (some with a value), a user-spec, maybe '--', a command
  const argv: string[] = [];
  for (let k = rnd(4); k > 0; k--) {
    const option = pick(OPTIONS);
    argv.push(option);
    if (!FLAGS.has(option)) argv.push(pick(VALUES));
  }
  argv.push(pick(SPECS));
  if (rnd(3) === 0) argv.push('--');
  for (let k = rnd(3); k > 0; k--) argv.push(pick(WORDS));
  return argv;
}

describe('parseCommonArgs against commander', () => {
  it('same Invocation or same error on 200 000 random command lines and variables', () => {
    const rnd = prng(4242);
    const seen = { taken: 0, runs: 0, errors: 0 };
    for (let n = 0; n < 200_000; n++) {
      const argv = randomArgv(rnd);
      const env: OptionEnv = { match: ENV_VALUES[rnd(ENV_VALUES.length)], remap: ENV_VALUES[rnd(ENV_VALUES.length)], groupOf: ENV_VALUES[rnd(ENV_VALUES.length)] };
      const fast = outcome(() => parseCommonArgs(argv, VERSION, env));
      if (fast === '{}') continue; // declined: commander parses it
      const slow = outcome(() => parseArgs(argv, VERSION, env));
      if (fast !== slow) expect({ argv, env, got: JSON.parse(fast) }).toEqual({ argv, env, got: JSON.parse(slow) });
      seen.taken++;
      if (fast.startsWith('{"ok":{"kind":"run"')) seen.runs++;
      if (fast.startsWith('{"error"')) seen.errors++;
      // main.ts reads no environment for these: commander must print the version whatever it holds
      if (asksOnlyForVersion(argv)) expect(JSON.parse(slow)).toEqual({ ok: { kind: 'print', text: `${VERSION}\n` } });
    }
    // the generator reaches both outcomes often
    expect(seen.runs).toBeGreaterThan(10_000);
    expect(seen.errors).toBeGreaterThan(10_000);
  });

  it('only `--version` or `-V` alone skips the environment', () => {
    expect(asksOnlyForVersion(['--version'])).toBe(true);
    expect(asksOnlyForVersion(['-V'])).toBe(true);
    for (const argv of [[], ['--version', '-q'], ['-V', '-V'], ['-q', '-V'], ['--version='], ['--version=1'], ['-V1'], ['-Vq'], ['--', '--version'], ['--Version'], ['ops', '--version'], ['--version', 'ops', 'id'], [' --version'], ['--version ']]) {
      expect(asksOnlyForVersion(argv)).toBe(false);
    }
  });
});
