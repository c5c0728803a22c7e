// The command line: argv and STEPDOWN_MATCH into an Invocation (run, --check, --audit, help).
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli.js';

const parse = (...argv: string[]) => parseArgs(argv, undefined, 'stepdown 9.9.9 (node v0)');

describe('parseArgs', () => {
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
    [['--match', '', 'ops', 'id'], /^--match '' names no path; give the volume's mount point, or leave out --match/],
    [['--match', '/m', '--chown', '', 'ops', 'id'], /^--chown '' names no path; give the tree to re-own$/],
  ])('%j fails with a one-line message', (argv, message) => {
    expect(() => parse(...argv)).toThrow(message);
  });

  it('reads repeated --group-of; STEPDOWN_GROUP_OF (colon-separated) applies only when no --group-of is given; empty means off', () => {
    const withEnv = (env: string | undefined, ...argv: string[]) => parseArgs(argv, undefined, 'v', env);
    expect(parse('--group-of', '/run/docker.sock', '--group-of', '/dev/kvm', 'ops', 'id')).toEqual({
      kind: 'run', spec: 'ops', command: ['id'], chown: [], quiet: false, allowSystemIds: false, groupOf: ['/run/docker.sock', '/dev/kvm'],
    });
    expect(withEnv('/run/docker.sock:/dev/kvm', 'ops', 'id')).toMatchObject({ groupOf: ['/run/docker.sock', '/dev/kvm'] });
    expect(withEnv('/run/docker.sock:/dev/kvm', '--group-of', '/dev/dri/renderD128', 'ops', 'id')).toMatchObject({ groupOf: ['/dev/dri/renderD128'] });
    expect(withEnv('', 'ops', 'id')).not.toHaveProperty('groupOf');
    expect(withEnv('/dev/kvm', '--check', 'ops')).toEqual({ kind: 'check', spec: 'ops', groupOf: ['/dev/kvm'] });
    expect(parse('--check', '--allow-system-ids', '--group-of', '/dev/kvm', 'ops')).toEqual({ kind: 'check', spec: 'ops', groupOf: ['/dev/kvm'], allowSystemIds: true });
    expect(parse('--allow-system-ids', '--group-of', '/dev/kvm', 'ops', 'id')).toMatchObject({ allowSystemIds: true });
    // --audit reports this process; the variable is for a run
    expect(withEnv('/dev/kvm', '--audit')).toEqual({ kind: 'audit', json: false, strict: false });
  });

  it.each([
    [[undefined, '--group-of', '', 'ops', 'id'], "--group-of '' names no path; give the socket or device whose group the user joins, or leave out --group-of"],
    [[undefined, '--group-of', '/a', '--group-of', '', 'ops', 'id'], "--group-of '' names no path; give the socket or device whose group the user joins, or leave out --group-of"],
    [['/a::/b', 'ops', 'id'], 'STEPDOWN_GROUP_OF="/a::/b" has an empty path; separate paths with one \':\', or set it empty for none'],
    [['/a:', 'ops', 'id'], 'STEPDOWN_GROUP_OF="/a:" has an empty path; separate paths with one \':\', or set it empty for none'],
    [[undefined, '--audit', '--group-of', '/a'], '--group-of does not apply to --audit; usage: stepdown --audit [--json] [--strict]'],
    [[undefined, '--allow-system-ids', 'ops', 'id'], '--allow-system-ids only applies with --match or --group-of'],
    [[undefined, '--group-of'], "option '--group-of <path>' argument missing; see 'stepdown --help'"],
    [[undefined, '--check', '--group-of', '/a', 'ops', 'id'], "--check takes only a user-spec, not a command ('id'); usage: stepdown --check [--group-of <path>] <user-spec>"],
  ] as [[string | undefined, ...string[]], string][])('--group-of: %j fails with exactly %j', ([env, ...argv], message) => {
    let caught: { message: string; exitCode?: number } | undefined;
    try {
      parseArgs(argv, undefined, 'v', env);
    } catch (err) {
      caught = err as { message: string; exitCode?: number };
    }
    expect({ message: caught?.message, exitCode: caught?.exitCode }).toEqual({ message, exitCode: 125 });
  });

  it('--help lists --group-of', () => {
    expect(parse('--help')).toMatchObject({ text: expect.stringMatching(/--group-of <path> +add the group owning this socket or device/) });
  });

  it('--check resolves a spec without a command', () => {
    expect(parse('--check', 'ops')).toEqual({ kind: 'check', spec: 'ops' });
  });
});

// --audit, --json, --strict on the command line.
describe('--audit', () => {
  it('takes --json and --strict, in any order', () => {
    expect(parse('--audit')).toEqual({ kind: 'audit', json: false, strict: false });
    expect(parse('--json', '--audit', '--strict')).toEqual({ kind: 'audit', json: true, strict: true });
    expect(parse('-q', '--audit', '--json')).toEqual({ kind: 'audit', json: true, strict: false });
  });

  it('ignores STEPDOWN_MATCH (it is for running a command)', () => {
    expect(parseArgs(['--audit'], '/data', 'v')).toEqual({ kind: 'audit', json: false, strict: false });
  });

  it('after a user-spec it belongs to the command: `stepdown ops -- stepdown --audit` audits what ops gets', () => {
    expect(parse('ops', '--', 'stepdown', '--audit', '--strict')).toEqual({ kind: 'run', spec: 'ops', command: ['stepdown', '--audit', '--strict'], chown: [], quiet: false, allowSystemIds: false });
  });

  it.each([
    [['--json'], /^--json only applies with --audit; usage: stepdown --audit \[--json\] \[--strict\]$/],
    [['--strict', 'ops', 'id'], /^--strict only applies with --audit/],
    [['--audit', 'ops'], /^--audit takes no user-spec or command \('ops'\); to audit the identity a user gets: stepdown ops -- stepdown --audit$/],
    [['--audit', 'ops', '--', 'id'], /^--audit takes no user-spec or command/],
    [['--audit', '--check'], /^--audit and --check do not go together/],
    [['--audit', '--match', '/data'], /^--match and --chown do not apply to --audit/],
    [['--audit', '--bogus'], /^unknown option '--bogus'/],
  ])('%j fails with a one-line message', (argv, message) => {
    expect(() => parse(...argv)).toThrow(message);
    try {
      parse(...argv);
    } catch (err) {
      expect((err as Error & { exitCode: number }).exitCode).toBe(125);
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('is in --help', () => {
    expect(parse('--help')).toMatchObject({ text: expect.stringMatching(/--audit[\s\S]*--json[\s\S]*--strict/) });
  });
});
