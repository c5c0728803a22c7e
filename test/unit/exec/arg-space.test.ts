import { describe, expect, it } from 'vitest';
import { argSpace, argSpaceProblem, MAX_ARG_STRLEN, readStackLimit } from '../../../src/exec/arg-space.js';

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
