import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli.js';
import { argSpace, argSpaceProblem, MAX_ARG_STRLEN, readStackLimit } from '../../src/exec/arg-space.js';
import { printable } from '../../src/system/errors.js';
import { signalsToReset } from '../../src/exec/execve.js';
import { parseProcStatus } from '../../src/system/proc-status.js';

describe('signalsToReset', () => {
  it("always resets Node's SIGPIPE and SIGXFSZ, plus anything SigIgn lists", () => {
    expect(signalsToReset(undefined).sort()).toEqual(['SIGPIPE', 'SIGXFSZ']);
    // SigIgn bits: HUP (1) and PIPE (13) and XFSZ (25)
    const st = parseProcStatus('SigIgn:\t0000000001001001\n');
    expect(signalsToReset(st).sort()).toEqual(['SIGHUP', 'SIGPIPE', 'SIGXFSZ']);
  });
});

describe('parseArgs', () => {
  const parse = (...argv: string[]) => parseArgs(argv, undefined, 'stepdown 9.9.9 (node v0)');

  it('stops option parsing at the user-spec (gosu style)', () => {
    expect(parse('ops', 'ls', '-l')).toEqual({ kind: 'run', spec: 'ops', command: ['ls', '-l'], chown: [], quiet: false, allowSystemIds: false });
  });

  it('takes one -- right after the user-spec as a separator, and keeps the rest verbatim', () => {
    expect(parse('ops', '--', 'node', 'server.js')).toMatchObject({ command: ['node', 'server.js'] });
    expect(parse('ops', '--', '--', 'x')).toMatchObject({ command: ['--', 'x'] });
    expect(parse('-q', 'ops', '--', '-q')).toMatchObject({ quiet: true, command: ['-q'] });
  });

  it('reads --match, repeated --chown, and STEPDOWN_MATCH (empty means off)', () => {
    expect(parse('--match', '/data', '--chown', '/a', '--chown', '/b', 'ops', 'id')).toMatchObject({ match: '/data', chown: ['/a', '/b'] });
    expect(parseArgs(['ops', 'id'], '/vol', 'v')).toMatchObject({ match: '/vol' });
    expect(parseArgs(['ops', 'id'], '', 'v')).not.toHaveProperty('match');
  });

  it('prints help and version', () => {
    expect(parse('--help')).toMatchObject({ kind: 'print', text: expect.stringContaining('Usage: stepdown [options] <user-spec> [--] <command> [args...]') });
    expect(parse('-V')).toEqual({ kind: 'print', text: 'stepdown 9.9.9 (node v0)\n' });
  });

  it.each([
    [[], /missing user-spec and command; usage:/],
    [['ops'], /no command given after 'ops'; usage:/],
    [['ops', '--'], /no command given after 'ops'/],
    [['-x', 'ops', 'id'], /^unknown option '-x'; see 'stepdown --help'$/],
    [['--match'], /option '--match <path>' argument missing; see 'stepdown --help'/],
    [['--chown', '/a', 'ops', 'id'], /--chown only applies with --match/],
    [['--check', 'ops', 'id'], /--check takes only a user-spec/],
  ])('%j fails with a one-line message', (argv, message) => {
    expect(() => parse(...argv)).toThrow(message);
  });

  it('--check resolves a spec without a command', () => {
    expect(parse('--check', 'ops')).toEqual({ kind: 'check', spec: 'ops' });
  });
});

describe('argument space (E2BIG)', () => {
  it('is a quarter of the stack limit, at least 128 KiB, at most 6 MiB', () => {
    expect(argSpace(8 * 1024 * 1024)).toBe(2 * 1024 * 1024);
    expect(argSpace(256 * 1024)).toBe(128 * 1024);
    expect(argSpace('unlimited')).toBe(6 * 1024 * 1024);
    expect(argSpace(1024 * 1024 * 1024)).toBe(6 * 1024 * 1024);
  });

  it('reads the soft stack limit', () => {
    expect(readStackLimit('Limit                     Soft Limit           Hard Limit           Units\nMax stack size            8388608              unlimited            bytes\n')).toBe(8388608);
    expect(readStackLimit('Max stack size            unlimited            unlimited            bytes\n')).toBe('unlimited');
    expect(readStackLimit('nothing here')).toBeUndefined();
  });

  // measured on Linux 6.18 with a 2 MiB space: 2078 arguments of 1000 bytes to /bin/true run (2096730 bytes
  // with pointers), 2079 do not; a string of 131072 bytes with its NUL runs, 131073 does not
  const space = 2 * 1024 * 1024;
  const args = (n: number, len: number) => ['/bin/true', ...Array.from({ length: n }, () => 'x'.repeat(len))];

  it('matches the kernel at the edge', () => {
    expect(argSpaceProblem('/bin/true', args(2078, 1000), {}, [], space)).toBeUndefined();
    expect(argSpaceProblem('/bin/true', args(2079, 1000), {}, [], space)).toMatch(/2080 arguments and 0 environment variables take 2097739 bytes, Linux takes at most 2097152/);
    expect(argSpaceProblem('/bin/true', args(110374, 10), {}, [], space)).toBeUndefined();
    expect(argSpaceProblem('/bin/true', args(110375, 10), {}, [], space)).toMatch(/too long/);
    expect(argSpaceProblem('/bin/true', ['true', 'x'.repeat(MAX_ARG_STRLEN - 1)], {}, [], space)).toBeUndefined();
    expect(argSpaceProblem('/bin/true', ['true', 'x'.repeat(MAX_ARG_STRLEN)], {}, [], space)).toMatch(/argument 1 is 131073 bytes, Linux takes at most 131072 per string/);
  });

  it('counts the environment, a 200 KB argument, and what #! adds', () => {
    expect(argSpaceProblem('/bin/true', ['true'], { BIG: 'x'.repeat(200_000) }, [], undefined)).toMatch(/environment variable BIG is 200005 bytes/);
    expect(argSpaceProblem('/bin/true', ['true', 'x'.repeat(200_000)], {}, [], undefined)).toMatch(/argument 1 is 200001 bytes/);
    const edge = args(2078, 1000);
    const level = { script: '/s', interpreter: '/opt/' + 'i'.repeat(205), arg: 'x'.repeat(240) }; // 444 more bytes, 429 were left
    expect(argSpaceProblem('/s', edge, {}, [], space)).toBeUndefined();
    expect(argSpaceProblem('/s', edge, {}, [level], space)).toMatch(/too long/);
  });
});

describe('printable', () => {
  it('escapes what would break the line or drive the terminal, and nothing else', () => {
    expect(printable('interpreter /bin/sh\r does not exist')).toBe('interpreter /bin/sh\\r does not exist');
    expect(printable("unknown user 'ops\n'")).toBe("unknown user 'ops\\n'");
    expect(printable('\x1b[31mred\x1b[0m\x07\x00\x7f\x9b')).toBe('\\e[31mred\\e[0m\\x07\\x00\\x7f\\x9b');
    expect(printable('a\u202eb\u2028c')).toBe('a\\u{202e}b\\u{2028}c');
    expect(printable("ünïcödé, 'quotes' and \\ stay")).toBe("ünïcödé, 'quotes' and \\ stay");
  });
});
