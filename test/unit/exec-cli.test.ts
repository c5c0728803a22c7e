import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli.js';
import { signalsToReset } from '../../src/exec.js';
import { parseProcStatus } from '../../src/proc-status.js';

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
    expect(parse('ops', 'ls', '-l')).toEqual({ kind: 'run', spec: 'ops', command: ['ls', '-l'], chown: [], quiet: false });
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
