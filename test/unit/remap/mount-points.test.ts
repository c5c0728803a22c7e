// src/remap/mount-points.ts: mountinfo parsing, the mount-point keys, and the mount points under a root.
import { describe, expect, it } from 'vitest';
import { mountKey, mountsUnder, parseMountInfo } from '../../../src/remap/mount-points.js';

const line = (mountPoint: string): string =>
  `36 35 98:0 /mnt1 ${mountPoint} rw,noatime master:1 - ext3 /dev/root rw,errors=continue`;

describe('parseMountInfo', () => {
  it('returns field 5 of every line', () => {
    const text = [
      '26 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
      '21 26 0:20 / /proc rw,relatime - proc proc rw',
      line('/home/app/data'),
      '',
    ].join('\n');
    expect(parseMountInfo(text)).toEqual(['/', '/proc', '/home/app/data']);
  });

  it('decodes the octal escapes the kernel writes for space, tab, newline and backslash', () => {
    const text = [line('/a\\040b'), line('/tab\\011x'), line('/nl\\012y'), line('/back\\134slash'), line('/not\\x41')];
    expect(parseMountInfo(text.join('\n'))).toEqual(['/a b', '/tab\tx', '/nl\ny', '/back\\slash', '/not\\x41']);
  });

  it('keeps bytes that are not UTF-8 exactly, keyed as mountKey keys a Buffer path', () => {
    const raw = Buffer.concat([Buffer.from('1 2 0:1 / /caf'), Buffer.from([0xe9]), Buffer.from('\\040x rw - tmpfs t rw\n')]);
    const path = Buffer.concat([Buffer.from('/caf'), Buffer.from([0xe9]), Buffer.from(' x')]);
    expect(parseMountInfo(raw)).toEqual([mountKey(path)]);
    expect(mountKey(path)).toBe('\0/caf\xe9 x');
  });

  it('skips truncated lines', () => {
    expect(parseMountInfo('1 2 3\n\n1 2 0:1 / /ok rw - t t rw')).toEqual(['/ok']);
  });
});

describe('mountKey', () => {
  it('is the path itself for strings and UTF-8 buffers', () => {
    expect(mountKey('/a b')).toBe('/a b');
    expect(mountKey(Buffer.from('/é'))).toBe('/é');
  });
});

describe('mountsUnder', () => {
  it('keeps the mount points strictly under the root, and the directories holding them', () => {
    const notUtf8 = mountKey(Buffer.concat([Buffer.from('/data/caf'), Buffer.from([0xe9]), Buffer.from('/m')]));
    const { mounts, dirs } = mountsUnder('/data', ['/', '/data', '/data2/x', '/data/a/b', notUtf8]);
    expect([...mounts]).toEqual(['/data/a/b', notUtf8]);
    expect([...dirs]).toEqual(['/data/a', mountKey(Buffer.concat([Buffer.from('/data/caf'), Buffer.from([0xe9])]))]);
  });
});
