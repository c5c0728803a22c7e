// The hand parser of the common command lines (cli-fast.ts) against commander (cli.ts): on
// every argv the fast one accepts, both give the same Invocation or the same error; what it
// declines goes to commander.
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli.js';
import { parseCommonArgs } from '../../src/cli-fast.js';

const VERSION = 'stepdown 9.9.9 (node v0)';

/** What a parser made of argv: its Invocation, or the error it failed with. */
function outcome(parse: () => unknown): unknown {
  try {
    return { ok: parse() };
  } catch (err) {
    const e = err as { message: string; exitCode?: number };
    return { error: e.message, exitCode: e.exitCode };
  }
}

// The forms the fast parser takes, and the errors it must report exactly as commander does.
const ACCEPTED: [string[], string | undefined, string?][] = [
  [['--version'], undefined],
  [['-V'], undefined],
  [['nobody', '--', '/bin/true'], undefined],
  [['ops', 'ls', '-l'], undefined],
  [['ops', '--', 'node', 'server.js'], undefined],
  [['ops', '--', '--', 'x'], undefined],
  [['ops', '--version'], undefined],
  [['ops', '--', 'stepdown', '--audit', '--strict'], undefined],
  [['-q', 'ops', '--', '-q'], undefined],
  [['--quiet', '--allow-system-ids', '--match', '/data', 'ops', 'id'], undefined],
  [['--match', '/data', '--chown', '/a', '--chown', '/b', 'ops', 'id'], undefined],
  [['--match', '/a', '--match', '/b', 'ops', 'id'], undefined],
  [['ops', 'id'], '/vol'],
  [['ops', 'id'], ''],
  [['--match', '/data', 'ops', 'id'], '/vol'],
  [['--check', 'ops'], undefined],
  [['--check', '--check', 'ops'], '/vol'],
  [['1000:1000', 'id'], undefined],
  [['', 'id'], undefined],
  // errors found after parsing: the same one-line message from both
  [['ops'], undefined],
  [['ops', '--'], undefined],
  [['--check', 'ops', 'id'], undefined],
  [['--check', 'ops', '--', 'id'], undefined],
  [['--chown', '/a', 'ops', 'id'], undefined],
  [['--chown', '/a', 'ops', 'id'], ''],
  [['--match', '/m', '--chown', '//', 'ops', 'id'], undefined],
  [['--match', '/m', '--chown', '/tmp/..', 'ops', 'id'], undefined],
  [['--allow-system-ids', 'ops', 'id'], undefined],
  [['--match', '', 'ops', 'id'], undefined],
  [['--match', '/m', '--chown', '', 'ops', 'id'], undefined],
  // --remap, STEPDOWN_REMAP (the third column), and the conflicts with --match / STEPDOWN_MATCH
  [['--remap', '1000:1000', 'ops', 'id'], undefined],
  [['--remap', '1000', '--chown', '/data', '--allow-system-ids', '-q', 'ops', '--', 'id'], undefined],
  [['--remap', '1:1', '--remap', '2000', 'ops', 'id'], undefined],
  [['ops', 'id'], undefined, '4321:4322'],
  [['ops', 'id'], undefined, ''],
  [['--chown', '/data', 'ops', 'id'], undefined, '4321'],
  [['--chown', '/data', 'ops', 'id'], '', ''],
  [['--remap', '5000', 'ops', 'id'], '', '4321'],
  [['--check', '--remap', '1000', 'ops'], '/vol', '0'],
  [['--match', '/data', '--remap', '1000', 'ops', 'id'], undefined],
  [['--remap', '1000', '--match', '/data', 'ops', 'id'], undefined],
  [['--match', '/data', 'ops', 'id'], undefined, '1000'],
  [['--remap', '1000', 'ops', 'id'], '/vol'],
  [['ops', 'id'], '/vol', '1000'],
  [['--match', '/data', 'ops', 'id'], undefined, ''],
  [['--remap', '', 'ops', 'id'], undefined],
  [['--remap', '0:0', 'ops', 'id'], undefined],
  [['--remap', '1000:0', 'ops', 'id'], undefined],
  [['--remap', '007', 'ops', 'id'], undefined],
  [['--remap', '1:2:3', 'ops', 'id'], undefined],
  [['--remap', '4294967295', 'ops', 'id'], undefined],
  [['--remap', 'app', 'ops', 'id'], undefined],
  [['ops', 'id'], undefined, '+1000'],
  [['ops', 'id'], undefined, '1000:'],
];

// Left to commander: help, --audit, values glued with '=', bundled or unknown flags, missing
// values or user-spec, `--` before the user-spec, a lone '-'.
const DECLINED: string[][] = [
  [],
  ['--help'],
  ['-h'],
  ['--version', 'x'],
  ['-V', '--version'],
  ['--audit'],
  ['--audit', '--json', '--strict'],
  ['--json', 'ops', 'id'],
  ['--strict', 'ops', 'id'],
  ['--match=/data', 'ops', 'id'],
  ['--remap=1000', 'ops', 'id'],
  ['--remap'],
  ['--remap', '-1', 'ops', 'id'],
  ['--audit', '--remap', '1000'],
  ['--match'],
  ['--chown'],
  ['--match', '-q', 'ops', 'id'],
  ['--match', '--', 'ops', 'id'],
  ['-qV'],
  ['-x', 'ops', 'id'],
  ['--quiet=1', 'ops', 'id'],
  ['--', 'ops', 'id'],
  ['-', 'id'],
  ['-q'],
  ['--check'],
  ['--group-of'],
  ['--group-of=/a', 'app', 'id'],
  ['--group-of', '-q', 'app', 'id'],
  ['--audit', '--group-of', '/a'],
];

const GROUP_OF: [string[], string | undefined][] = [
  [['--group-of', '/run/docker.sock', 'app', 'id'], undefined],
  [['--group-of', '/a', '--group-of', '/b', '-q', 'app', '--', 'id'], undefined],
  [['--group-of', '/a', 'app', 'id'], '/b:/c'],
  [['app', 'id'], '/b:/c'],
  [['app', 'id'], ''],
  [['app', 'id'], '/b::/c'],
  [['app', 'id'], ':'],
  [['--group-of', '/a', 'app', 'id'], '/b::/c'],
  [['--group-of', '', 'app', 'id'], undefined],
  [['--group-of', '/a', '--group-of', '', 'app', 'id'], undefined],
  [['--check', '--group-of', '/a', 'app'], undefined],
  [['--check', 'app'], '/a'],
  [['--check', '--allow-system-ids', '--group-of', '/a', 'app'], undefined],
  [['--allow-system-ids', '--group-of', '/a', 'app', 'id'], undefined],
  [['--allow-system-ids', 'app', 'id'], '/a'],
  [['--match', '/m', '--group-of', '/m/s', 'app', 'id'], undefined],
  [['--group-of', '/a', 'app'], undefined],
  [['--remap', '4321:4321', '--group-of', '/a', '--allow-system-ids', 'app', 'id'], undefined],
  [['--group-of', '/a', 'app', 'id'], '/b:/c'],
];

describe('parseCommonArgs', () => {
  it.each(ACCEPTED)('%j (STEPDOWN_MATCH=%j STEPDOWN_REMAP=%j) gives what commander gives', (argv, matchEnv, remapEnv) => {
    const fast = outcome(() => parseCommonArgs(argv, VERSION, { match: matchEnv, remap: remapEnv }));
    expect(fast).not.toEqual({ ok: undefined }); // it took this form
    expect(fast).toEqual(outcome(() => parseArgs(argv, VERSION, { match: matchEnv, remap: remapEnv })));
  });

  // --group-of with and without STEPDOWN_GROUP_OF: same Invocation or same error from both
  it.each(GROUP_OF)('%j (STEPDOWN_GROUP_OF=%j) gives what commander gives', (argv, groupOfEnv) => {
    const fast = outcome(() => parseCommonArgs(argv, VERSION, { groupOf: groupOfEnv }));
    expect(fast).not.toEqual({ ok: undefined });
    expect(fast).toEqual(outcome(() => parseArgs(argv, VERSION, { groupOf: groupOfEnv })));
  });

  it.each(DECLINED.map((a) => [a]))('%j is left to commander', (argv) => {
    expect(parseCommonArgs(argv, VERSION, { match: '/vol' })).toBeUndefined();
    expect(parseCommonArgs(argv, VERSION, { remap: '1000', groupOf: '/a' })).toBeUndefined();
  });

  it('a run: the exact Invocation', () => {
    expect(parseCommonArgs(['-q', '--match', '/d', '--chown', '/d/x', 'app', '--', 'node', 's.js'], VERSION)).toEqual({
      kind: 'run', spec: 'app', command: ['node', 's.js'], match: '/d', chown: ['/d/x'], quiet: true, allowSystemIds: false,
    });
    expect(parseCommonArgs(['--version'], VERSION)).toEqual({ kind: 'print', text: `${VERSION}\n` });
    expect(parseCommonArgs(['--remap', '1000:1001', '--chown', '/d', 'app', 'id'], VERSION)).toEqual({
      kind: 'run', spec: 'app', command: ['id'], remap: { text: '1000:1001', uid: 1000, gid: 1001 }, chown: ['/d'], quiet: false, allowSystemIds: false,
    });
  });
});
