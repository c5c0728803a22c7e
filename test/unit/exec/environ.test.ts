import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHELL_UNSETS, decodeDump, decodeEnviron, escapeBytes, handoverMismatch, lookup, targetEnv } from '../../../src/exec/environ.js';

const block = (...entries: string[]) => Buffer.from(entries.map((e) => e + '\0').join(''));

describe('the environment hand-over', () => {
  it('decodes od -An -v -tx8 output: little-endian words, the last one padded with NULs', () => {
    // what `printf 'A.B=1\0X=caf\303\251\0' | od -An -v -tx8` prints
    const dump = ' 3d5800313d422e41 000000a9c3666163\n';
    expect(decodeDump(dump)).toEqual(Buffer.from('A.B=1\0X=caf\xc3\xa9\0\0\0', 'latin1'));
    expect(decodeEnviron(decodeDump(dump)!).environ).toEqual([['A.B', '1'], ['X', 'café']]);
    expect(decodeDump('')).toEqual(Buffer.alloc(0));
    expect(decodeDump(' 0123456789abcdef x')).toBeUndefined();
    expect(decodeDump(' 12345')).toBeUndefined();
  });

  it('keeps order, odd names, empty values and = in values; the first of a duplicate wins', () => {
    expect(decodeEnviron(block('B=2', 'A.B=dots', 'EMPTY=', 'X=a=b', 'K=1', 'K=2', '=x', 'noequals'))).toEqual({
      environ: [['B', '2'], ['A.B', 'dots'], ['EMPTY', ''], ['X', 'a=b'], ['K', '1']],
      shadowed: [['K', '2']],
    });
  });

  it('reads an all-UTF-8 block exactly as it reads one with a variable that is not UTF-8', () => {
    // the first is decoded in one piece, the second entry by entry: the same entries either way
    const entries = ['B=2', 'A.B=dots', 'EMPTY=', 'X=a=b', 'K=1', 'K=2', '=x', 'noequals', '', 'Ü=ünï€😀', 'K=3', 'LAST=no NUL'];
    const utf8 = Buffer.from(entries.join('\0'));
    const bad = Buffer.concat([utf8, Buffer.from('\0BAD=\xff\0', 'latin1')]);
    const whole = decodeEnviron(utf8);
    const byEntry = decodeEnviron(bad);
    expect(byEntry.notUtf8).toBe('BAD');
    expect(byEntry.environ).toEqual([...whole.environ, ['BAD', '\uFFFD']]);
    expect(byEntry.shadowed).toEqual(whole.shadowed);
    expect(whole).toEqual({
      environ: [['B', '2'], ['A.B', 'dots'], ['EMPTY', ''], ['X', 'a=b'], ['K', '1'], ['Ü', 'ünï€😀'], ['LAST', 'no NUL']],
      shadowed: [['K', '2'], ['K', '3']],
    });
  });

  it('names the first variable that is not UTF-8, escaped', () => {
    const r = decodeEnviron(Buffer.concat([block('OK=café'), Buffer.from('BAD\xff=caf\xe9\0', 'latin1')]));
    expect(r.notUtf8).toBe('BAD\\xff');
    expect(escapeBytes(Buffer.from('a\\b\n\xe9', 'latin1'))).toBe('a\\x5cb\\x0a\\xe9');
  });

  it('accepts what the launcher shell changes and nothing else', () => {
    const original: [string, string][] = [['A.B', '1'], ['PATH', '/bin'], ['NODE_OPTIONS', '--require x'], ['PWD', '/a'], ['FOO', 'bar']];
    // dash: drops A.B, changes PWD, adds SHLVL; NODE_OPTIONS unset
    expect(handoverMismatch(original, { PATH: '/bin', PWD: '/b', SHLVL: '1', FOO: 'bar' })).toBeUndefined();
    expect(handoverMismatch(original, { PATH: '/bin', FOO: 'baz' })).toBe('FOO'); // a value differs
    expect(handoverMismatch(original, { PATH: '/bin' })).toBe('FOO'); // an identifier the shell keeps is gone
    expect(handoverMismatch(original, { PATH: '/bin', FOO: 'bar', LD_PRELOAD: '/x.so' })).toBe('LD_PRELOAD');
    // PATH may be added (busybox) only when there was none
    expect(handoverMismatch([['FOO', 'bar']], { FOO: 'bar', PATH: '/sbin:/bin' })).toBeUndefined();
    expect(handoverMismatch(original, { PATH: '/evil', FOO: 'bar' })).toBe('PATH');
    // bash re-exports the functions it imported with its own text
    expect(handoverMismatch([['BASH_FUNC_x%%', '() { :; }']], { 'BASH_FUNC_x%%': '() {  :\n}' })).toBeUndefined();
  });

  it('lets the shell change, add or drop only the variables it manages itself', () => {
    const original: [string, string][] = [
      ['OPTIND', '3'], ['PPID', '1'], ['PS1', '$ '], ['PS2', '> '], ['PS4', '++ '], ['LINENO', '7'], ['RANDOM', '4'],
      ['SECONDS', '6'], ['EPOCHSECONDS', '1'], ['BASHPID', '1'], ['HISTCMD', '9'], ['BASH', '/x'], ['OPTERR', '0'],
      ['SHELLOPTS', 'allexport'], ['FOO', 'bar'], ['HOME', '/root'],
    ];
    // what bash as sh hands Node: its own values, some dropped, POSIXLY_CORRECT exported (allexport)
    const bash = {
      OPTIND: '1', PS4: '+ ', LINENO: '5', EPOCHSECONDS: '1796436230', BASH: '/bin/bash', OPTERR: '1',
      SHELLOPTS: 'braceexpand:hashall:posix', POSIXLY_CORRECT: 'y', FOO: 'bar', HOME: '/root',
    };
    expect(handoverMismatch(original, bash)).toBeUndefined();
    // anything else must match exactly
    expect(handoverMismatch(original, { ...bash, HOME: '/tmp' })).toBe('HOME');
    expect(handoverMismatch(original, { ...bash, FOO: 'baz' })).toBe('FOO');
    expect(handoverMismatch(original, { ...bash, LD_PRELOAD: '/x.so' })).toBe('LD_PRELOAD');
    expect(handoverMismatch(original, { ...bash, PATH: '/evil' })).toBeUndefined(); // there was no PATH: busybox adds one
    expect(handoverMismatch([...original, ['PATH', '/bin']], { ...bash, PATH: '/evil' })).toBe('PATH');
  });

  it('a duplicated name: the shell may pass on any of its values; the first is the one kept', () => {
    const { environ, shadowed } = decodeEnviron(block('X=1', 'Y=a', 'X=2', 'X=3'));
    expect(environ).toEqual([['X', '1'], ['Y', 'a']]);
    expect(handoverMismatch(environ, { X: '3', Y: 'a' }, shadowed)).toBeUndefined(); // dash and bash export the last
    expect(handoverMismatch(environ, { X: '1', Y: 'a' }, shadowed)).toBeUndefined();
    expect(handoverMismatch(environ, { X: '4', Y: 'a' }, shadowed)).toBe('X');
    expect(handoverMismatch(environ, { X: '2', Y: 'b' }, shadowed)).toBe('Y');
  });

  it('the names the shell unsets are the ones bin/stepdown unsets', () => {
    const launcher = fs.readFileSync(path.join(__dirname, '../../../bin/stepdown'), 'utf8');
    const unsets = [...launcher.matchAll(/^unset (?!-f)((?:\\\n|[^\n])*)/gm)].flatMap((m) => m[1]!.replace(/\\\n/g, ' ').split(/\s+/)).filter(Boolean);
    expect(new Set(unsets)).toEqual(SHELL_UNSETS);
  });

  it('sets HOME in place or appends it, and passes STEPDOWN_* variables through', () => {
    expect({ ...targetEnv([['HOME', '/root'], ['PATH', '/bin'], ['STEPDOWN_ENVIRON', 'ab']], '/home/ops') }).toEqual({ HOME: '/home/ops', PATH: '/bin', STEPDOWN_ENVIRON: 'ab' });
    expect(Object.keys(targetEnv([['PATH', '/bin']], '/'))).toEqual(['PATH', 'HOME']);
    expect(lookup([['A', '1']], 'A')).toBe('1');
    // __proto__ is a variable like any other, not the object's prototype
    expect(Object.entries(targetEnv([['__proto__', 'x'], ['constructor', 'y']], undefined))).toEqual([['__proto__', 'x'], ['constructor', 'y']]);
  });
});
