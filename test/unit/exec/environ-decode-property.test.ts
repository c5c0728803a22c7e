// decodeEnviron reads an all-UTF-8 block in one piece and any other block entry by entry. The
// one-piece path must give exactly what the entry-by-entry reading gives (the entries, the
// shadowed duplicates, notUtf8 and which of those keys are present) on every block: checked
// here against that reading, kept below as the reference, on seeded random blocks built from
// hostile pieces (NUL, '=', BOMs, U+FFFD, overlong forms, surrogates, truncated sequences,
// bytes above U+10FFFF, __proto__).
import { isUtf8 } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { type Original, decodeEnviron, escapeBytes } from '../../../src/exec/environ.js';
import { prng } from '../../helpers/prng.js';

/** The reference: each NUL-terminated entry on its own, split at its first '=' (the reading before the one-piece path). */
function byEntry(block: Buffer): Original {
  const seen = new Set<string>();
  const environ: [string, string][] = [];
  const shadowed: [string, string][] = [];
  let notUtf8: string | undefined;
  for (let start = 0; start < block.length; ) {
    let end = block.indexOf(0, start);
    if (end < 0) end = block.length;
    const entry = block.subarray(start, end);
    start = end + 1;
    const eq = entry.indexOf(0x3d);
    if (eq <= 0) continue;
    if (notUtf8 === undefined && !isUtf8(entry)) notUtf8 = escapeBytes(entry.subarray(0, eq));
    const key = entry.subarray(0, eq).toString('utf8');
    const value = entry.subarray(eq + 1).toString('utf8');
    if (seen.has(key)) shadowed.push([key, value]);
    else (seen.add(key), environ.push([key, value]));
  }
  return { environ, ...(notUtf8 === undefined ? {} : { notUtf8 }), ...(shadowed.length > 0 ? { shadowed } : {}) };
}

const hex = (h: string) => [...Buffer.from(h, 'hex')];
// valid pieces first (VALID of them), then pieces that are not UTF-8
const PIECES = [
  '00', '00', '3d', '3d', '41', '42', '5f', 'efbbbf', 'efbfbd', 'c3a9', 'e282ac', 'f09f9880', 'f48fbfbf', '0a', '5c', '5f5f70726f746f5f5f', '7f', 'c280',
  'ff', 'fe', '80', 'c080', 'c1bf', 'e08080', 'eda080', 'edbfbf', 'f4908080', 'f0808080', 'f88880808080', 'e0a0', 'f0', 'c3', 'e282',
].map(hex);
const VALID = 18;
const KEYS = ['41', 'efbbbf41', 'c3a9', '', '5f5f70726f746f5f5f', '41ff', 'eda080', '3d'].map(hex);

function randomBlock(rnd: (n: number) => number): Buffer {
  const bytes: number[] = [];
  const pieces = rnd(3) === 0 ? VALID : PIECES.length;
  if (rnd(2) === 0) {
    // a run of pieces: empty entries, lone '=', NULs in a row, a last entry without NUL
    for (let i = rnd(24); i > 0; i--) bytes.push(...PIECES[rnd(pieces)]!);
  } else {
    // entries shaped NAME=VALUE from a few names, so that duplicates are common
    for (let e = rnd(7); e > 0; e--) {
      bytes.push(...KEYS[rnd(pieces === VALID ? 5 : KEYS.length)]!);
      if (rnd(6) > 0) bytes.push(0x3d);
      for (let i = rnd(5); i > 0; i--) bytes.push(...PIECES[1 + rnd(pieces - 1)]!);
      if (e > 1 || rnd(2) === 0) bytes.push(0);
    }
  }
  return Buffer.from(bytes);
}

describe('decodeEnviron on hostile blocks', () => {
  it('gives exactly what reading entry by entry gives, on 200 000 random blocks', () => {
    const rnd = prng(20261205);
    const seen = { utf8: 0, notUtf8: 0, shadowed: 0 };
    for (let n = 0; n < 200_000; n++) {
      const block = randomBlock(rnd);
      const got = decodeEnviron(block);
      const want = byEntry(block);
      // toEqual ignores an `undefined` key: compare the keys too, then the values
      if (Object.keys(got).join() !== Object.keys(want).join() || JSON.stringify(got) !== JSON.stringify(want)) {
        expect({ block: block.toString('hex'), got }).toEqual({ block: block.toString('hex'), got: want });
      }
      if (isUtf8(block)) seen.utf8++;
      if (want.notUtf8 !== undefined) seen.notUtf8++;
      if (want.shadowed) seen.shadowed++;
    }
    // the generator reaches both paths, refusals and duplicates
    expect(seen.utf8).toBeGreaterThan(50_000);
    expect(seen.notUtf8).toBeGreaterThan(20_000);
    expect(seen.shadowed).toBeGreaterThan(10_000);
  });

  it.each([
    ['empty', ''],
    ['only NULs', '000000'],
    ['one entry without NUL', '413d31'],
    ['a lone =', '3d'],
    ['BOM before the block and an entry', 'efbbbf413d3100efbbbf423defbbbf00'],
    ['U+FFFD in a name and a value', 'efbfbd3defbfbd00'],
    ['__proto__ twice', '5f5f70726f746f5f5f3d31005f5f70726f746f5f5f3d3200'],
    ['a surrogate in a value', '413deda08000'],
    ['overlong = is not a separator', '41c0bd423d3100'],
  ])('%s', (_, h) => {
    const block = Buffer.from(h, 'hex');
    const got = decodeEnviron(block);
    expect(Object.keys(got)).toEqual(Object.keys(byEntry(block)));
    expect(got).toEqual(byEntry(block));
  });

  it('a block as large as execve allows (6 MiB), duplicates and non-ASCII throughout', () => {
    const block = Buffer.from(Array.from({ length: 50_000 }, (_, i) => `K${i % 40_000}=${'é€'.repeat(25)}`).join('\0'));
    expect(block.length).toBeGreaterThan(6_000_000);
    expect(decodeEnviron(block)).toEqual(byEntry(block));
  });
});
