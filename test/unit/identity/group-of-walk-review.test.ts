// Adversarial review (round 3) of walkPath: it claims to resolve a path as the kernel does. Two
// spellings the kernel refuses are accepted today, so stepdown grants the gid of a file the
// command then cannot open by that path (ENOTDIR, ENAMETOOLONG).
import { describe, expect, it } from 'vitest';
import { type FileStat, walkPath } from '../../../src/identity/group-of.js';

type Entry = Partial<FileStat> & { link?: string };
const dir = (): Entry => ({ uid: 0, gid: 0, mode: 0o40755, isDirectory: true });
const file = (gid: number): Entry => ({ uid: 0, gid, mode: 0o140660 });
const link = (to: string): Entry => ({ uid: 0, gid: 0, mode: 0o120777, isSymbolicLink: true, link: to });

const HOST: Record<string, Entry> = {
  '/': dir(),
  '/run': dir(),
  '/run/docker.sock': file(998),
  // a link whose target ends in '/': the kernel requires a directory there (stat -L: Not a directory)
  '/run/slash': link('docker.sock/'),
  '/run/slash-dot': link('docker.sock/.'),
};

const fsx = {
  lstat: (f: string): FileStat => {
    const e = HOST[f];
    if (!e) throw Object.assign(new Error(`ENOENT ${f}`), { code: 'ENOENT' });
    return { uid: e.uid ?? 0, gid: e.gid ?? 0, mode: e.mode ?? 0, isDirectory: e.isDirectory ?? false, isSymbolicLink: e.isSymbolicLink ?? false };
  },
  readlink: (f: string): string => HOST[f]!.link!,
};

describe('walkPath agrees with the kernel', () => {
  it("a symlink whose target ends in '/' leads to a directory or nowhere, as one ending in '/.' does", () => {
    expect(() => walkPath('/run/slash-dot', '/', fsx)).toThrow('--group-of /run/slash-dot: /run/docker.sock is not a directory');
    expect(() => walkPath('/run/slash', '/', fsx)).toThrow('--group-of /run/slash: /run/docker.sock is not a directory');
  });

  it('a path of PATH_MAX (4096) bytes or more is refused, as the kernel refuses it (ENAMETOOLONG)', () => {
    const long = `/run/${'./'.repeat(2100)}docker.sock`;
    expect(long.length).toBeGreaterThan(4095);
    expect(() => walkPath(long, '/', fsx)).toThrow(`--group-of ${long}: cannot look it up: ENAMETOOLONG`);
  });
});
