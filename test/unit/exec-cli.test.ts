import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli.js';
import { decodeEnviron, lookup, originalEnviron, targetEnv } from '../../src/environ.js';
import { signalsToReset } from '../../src/exec.js';
import { parseProcStatus } from '../../src/proc-status.js';

describe('environment', () => {
  const block = (...entries: string[]) => Buffer.from(entries.map((e) => e + '\0').join(''));

  it('decodes the handed-over environ block exactly: order, odd names, empty values, = in values', () => {
    const env = { STEPDOWN_ENVIRON: block('B=2', 'A.B=dots', 'EMPTY=', 'X=a=b', 'NODE_OPTIONS=--require /otel.js').toString('hex'), PWD: '/added/by/sh' };
    expect(originalEnviron(env)).toEqual([['B', '2'], ['A.B', 'dots'], ['EMPTY', ''], ['X', 'a=b'], ['NODE_OPTIONS', '--require /otel.js']]);
  });

  it('keeps the first of a duplicated key (what getenv returns) and skips entries without a name', () => {
    expect(decodeEnviron(block('K=1', 'K=2', '=x', 'noequals'))).toEqual([['K', '1']]);
  });

  it('uses process.env as it is when nothing was handed over (the single executable)', () => {
    expect(originalEnviron({ NODE_OPTIONS: '--max-old-space-size=1' })).toEqual([['NODE_OPTIONS', '--max-old-space-size=1']]);
  });

  it('sets HOME in place, appends it when absent, and drops the hand-over variable', () => {
    expect(targetEnv([['HOME', '/root'], ['PATH', '/bin'], ['STEPDOWN_ENVIRON', 'ab']], '/home/ops')).toEqual({ HOME: '/home/ops', PATH: '/bin' });
    expect(Object.keys(targetEnv([['PATH', '/bin']], '/'))).toEqual(['PATH', 'HOME']);
    expect(lookup([['A', '1']], 'A')).toBe('1');
  });
});

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
