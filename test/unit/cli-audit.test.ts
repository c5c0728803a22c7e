// --audit, --json, --strict on the command line.
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli.js';

const parse = (...argv: string[]) => parseArgs(argv, undefined, 'stepdown 9.9.9 (node v0)');

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
