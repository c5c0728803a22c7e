// The command line: argv and STEPDOWN_MATCH into an Invocation (run, --check, --audit, help).
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli.js';

const parse = (...argv: string[]) => parseArgs(argv, 'stepdown 9.9.9 (node v0)');

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
    expect(parseArgs(['ops', 'id'], 'v', { match: '/vol' })).toMatchObject({ match: '/vol' });
    expect(parseArgs(['ops', 'id'], 'v', { match: '' })).not.toHaveProperty('match');
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

  // commander puts its suggestion on a second line; main.ts would print that newline as a
  // literal `\n` in the middle of the one line (stepdown: unknown option '--chek'\n(Did you mean …)
  it.each([[['--chek', 'ops']], [['--version=1']], [['--quiet=1', 'ops', 'id']], [['--audit', '--jsn']]])('%j: the suggestion stays on the one line, without a newline', (argv) => {
    expect(() => parse(...argv)).toThrow(/^unknown option '[^'\n]+' \(Did you mean --[a-z-]+\?\); see 'stepdown --help'$/);
  });

  it('reads repeated --group-of; STEPDOWN_GROUP_OF (colon-separated) applies only when no --group-of is given; empty means off', () => {
    const withEnv = (env: string | undefined, ...argv: string[]) => parseArgs(argv, 'v', { groupOf: env });
    expect(parse('--group-of', '/run/docker.sock', '--group-of', '/dev/kvm', 'ops', 'id')).toEqual({
      kind: 'run', spec: 'ops', command: ['id'], chown: [], quiet: false, allowSystemIds: false, groupOf: ['/run/docker.sock', '/dev/kvm'],
    });
    expect(withEnv('/run/docker.sock:/dev/kvm', 'ops', 'id')).toMatchObject({ groupOf: ['/run/docker.sock', '/dev/kvm'] });
    expect(withEnv('/run/docker.sock:/dev/kvm', '--group-of', '/dev/dri/renderD128', 'ops', 'id')).toMatchObject({ groupOf: ['/dev/dri/renderD128'] });
    expect(withEnv('', 'ops', 'id')).not.toHaveProperty('groupOf');
    expect(withEnv('/dev/kvm', '--check', 'ops')).toEqual({ kind: 'check', spec: 'ops', groupOf: ['/dev/kvm'], groupOfFromEnv: true });
    // where the paths came from, for the messages
    expect(withEnv('/run/docker.sock:/dev/kvm', 'ops', 'id')).toMatchObject({ groupOfFromEnv: true });
    expect(withEnv('/run/docker.sock', '--group-of', '/dev/kvm', 'ops', 'id')).not.toHaveProperty('groupOfFromEnv');
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
    [[undefined, '--allow-system-ids', 'ops', 'id'], '--allow-system-ids only applies with --match, --remap or --group-of'],
    [[undefined, '--group-of'], "option '--group-of <path>' argument missing; see 'stepdown --help'"],
    [[undefined, '--check', '--group-of', '/a', 'ops', 'id'], "--check takes only a user-spec, not a command ('id'); usage: stepdown --check [--group-of <path>] <user-spec>"],
  ] as [[string | undefined, ...string[]], string][])('--group-of: %j fails with exactly %j', ([env, ...argv], message) => {
    let caught: { message: string; exitCode?: number } | undefined;
    try {
      parseArgs(argv, 'v', { groupOf: env });
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
    expect(parseArgs(['--audit'], 'v', { match: '/data' })).toEqual({ kind: 'audit', json: false, strict: false });
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

// --remap UID[:GID] and STEPDOWN_REMAP: the ids from the argument, otherwise as --match.
describe('--remap', () => {
  const withEnv = (argv: string[], matchEnv?: string, remapEnv?: string) => parseArgs(argv, 'v', { match: matchEnv, remap: remapEnv });
  const CHOOSE = "both ask for a remap: choose one (--match takes the ids from a path's owner, --remap from its argument); an empty STEPDOWN_MATCH or STEPDOWN_REMAP is off";

  it('reads --remap UID:GID, --remap=UID, the last of two, and STEPDOWN_REMAP (empty means off)', () => {
    expect(parse('--remap', '1000:1001', 'ops', '--', 'server')).toEqual({
      kind: 'run', spec: 'ops', command: ['server'], remap: { text: '1000:1001', uid: 1000, gid: 1001 }, chown: [], quiet: false, allowSystemIds: false,
    });
    expect(parse('--remap=1000', 'ops', 'id')).toMatchObject({ remap: { text: '1000', uid: 1000 } });
    expect(parse('--remap', '1000', 'ops', 'id')).not.toHaveProperty('remap.gid');
    expect(parse('--remap', '1:1', '--remap', '2000:2001', 'ops', 'id')).toMatchObject({ remap: { uid: 2000, gid: 2001 } });
    expect(withEnv(['ops', 'id'], undefined, '4321:4322')).toMatchObject({ remap: { text: '4321:4322', uid: 4321, gid: 4322 } });
    expect(withEnv(['ops', 'id'], undefined, '')).not.toHaveProperty('remap');
    expect(withEnv(['--remap', '5000', 'ops', 'id'], undefined, '4321')).toMatchObject({ remap: { uid: 5000 } }); // the option over its own variable
  });

  it('--chown and --allow-system-ids apply with --remap, from the option or the variable', () => {
    expect(parse('--remap', '1000', '--chown', '/data', '--allow-system-ids', 'ops', 'id')).toMatchObject({ chown: ['/data'], allowSystemIds: true, remap: { uid: 1000 } });
    expect(withEnv(['--chown', '/data', '--allow-system-ids', 'ops', 'id'], undefined, '1000')).toMatchObject({ chown: ['/data'], allowSystemIds: true });
    expect(() => withEnv(['--chown', '/data', 'ops', 'id'], undefined, '')).toThrow(/^--chown only applies with --match or --remap \(it re-owns trees after a remap\)$/);
    expect(() => parse('--allow-system-ids', 'ops', 'id')).toThrow(/^--allow-system-ids only applies with --match, --remap or --group-of$/);
    expect(() => parse('--remap', '1000', '--chown', '/tmp/..', 'ops', 'id')).toThrow(/that is \/ and stepdown refuses/);
  });

  it.each([
    [['--match', '/data', '--remap', '1000'], undefined, undefined, `--match /data and --remap 1000 ${CHOOSE}`],
    [['--remap', '1000', '--match', '/data'], undefined, undefined, `--match /data and --remap 1000 ${CHOOSE}`],
    [['--match', '/data'], undefined, '1000:1000', `--match /data and STEPDOWN_REMAP=1000:1000 ${CHOOSE}`],
    [['--remap', '1000'], '/data', undefined, `STEPDOWN_MATCH=/data and --remap 1000 ${CHOOSE}`],
    [[], '/data', '1000:1000', `STEPDOWN_MATCH=/data and STEPDOWN_REMAP=1000:1000 ${CHOOSE}`],
    [['--match', '/data', '--remap', 'nonsense'], undefined, undefined, `--match /data and --remap nonsense ${CHOOSE}`],
  ])('%j with STEPDOWN_MATCH=%j STEPDOWN_REMAP=%j: both is refused, whatever the source', (argv, matchEnv, remapEnv, message) => {
    expect(() => withEnv([...argv, 'ops', 'id'], matchEnv, remapEnv)).toThrow(message);
    try {
      withEnv([...argv, 'ops', 'id'], matchEnv, remapEnv);
    } catch (err) {
      expect((err as Error & { exitCode: number }).exitCode).toBe(125);
      expect((err as Error).message).toBe(message);
    }
  });

  it('an empty variable is off, so it never conflicts; an empty --remap is refused', () => {
    expect(withEnv(['--match', '/data', 'ops', 'id'], undefined, '')).toMatchObject({ match: '/data' });
    expect(withEnv(['--remap', '1000', 'ops', 'id'], '', undefined)).toMatchObject({ remap: { uid: 1000 } });
    expect(() => parse('--remap', '', 'ops', 'id')).toThrow(/^--remap '' gives no ids; write UID:GID or UID \(e\.g\. 1000:1000\), or leave out --remap \(an empty STEPDOWN_REMAP means off\)$/);
    expect(() => parse('--remap=', 'ops', 'id')).toThrow(/^--remap '' gives no ids/);
  });

  it('a bad value is refused naming where it came from', () => {
    expect(() => parse('--remap', '0:0', 'ops', 'id')).toThrow(/^--remap '0:0': uid 0 is root; a remap never makes anyone root/);
    expect(() => withEnv(['ops', 'id'], undefined, '1000:0')).toThrow(/^STEPDOWN_REMAP='1000:0': gid 0 is group root/);
    expect(() => parse('--remap', '-1', 'ops', 'id')).toThrow(/^--remap '-1': uid '-1' is not a decimal id/); // commander takes a value that looks like an option
    expect(() => parse('--remap')).toThrow(/^option '--remap <uid\[:gid\]>' argument missing; see 'stepdown --help'$/);
  });

  it('--audit refuses --remap and ignores STEPDOWN_REMAP; --check ignores both, as it does --match', () => {
    expect(() => parse('--audit', '--remap', '1000')).toThrow(/^--remap does not apply to --audit; usage: stepdown --audit \[--json\] \[--strict\]$/);
    expect(withEnv(['--audit'], undefined, '1000')).toEqual({ kind: 'audit', json: false, strict: false });
    expect(withEnv(['--audit'], '/data', '1000')).toEqual({ kind: 'audit', json: false, strict: false });
    expect(withEnv(['--check', 'ops'], '/data', '0:0')).toEqual({ kind: 'check', spec: 'ops' });
    expect(parse('--check', '--remap', '1000', 'ops')).toEqual({ kind: 'check', spec: 'ops' });
  });

  it('--help lists --remap and STEPDOWN_REMAP', () => {
    const help = (parse('--help') as { text: string }).text;
    expect(help).toMatch(/--remap <uid\[:gid\]>\s+remap the user to these ids first/);
    expect(help).toContain('STEPDOWN_REMAP');
  });
});
