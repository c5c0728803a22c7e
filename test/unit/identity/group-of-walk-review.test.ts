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

  it('a symlink target that is not UTF-8 is refused, never followed to the file named U+FFFD', () => {
    const host: Record<string, Entry> = { ...HOST, '/run/bad': link('unused'), '/run/\ufffd': file(996) };
    const withBad = {
      lstat: (f: string): FileStat => {
        const e = host[f];
        if (!e) throw Object.assign(new Error(`ENOENT ${f}`), { code: 'ENOENT' });
        return { uid: e.uid ?? 0, gid: e.gid ?? 0, mode: e.mode ?? 0, isDirectory: e.isDirectory ?? false, isSymbolicLink: e.isSymbolicLink ?? false };
      },
      readlink: (f: string): string | Uint8Array => (f === '/run/bad' ? Uint8Array.of(0xff) : Buffer.from(host[f]!.link!)),
    };
    expect(() => walkPath('/run/bad', '/', withBad)).toThrow('--group-of /run/bad: /run/bad is a symbolic link to a name that is not UTF-8; name the file itself');
    // UTF-8 bytes are followed
    const good = { ...fsx, readlink: (f: string): string | Uint8Array => Buffer.from(fsx.readlink(f) as string) };
    expect(() => walkPath('/run/slash', '/', good)).toThrow('--group-of /run/slash: /run/docker.sock is not a directory');
  });

  it('a path into the proc filesystem is refused: /proc/<pid>/fd and root are links only the kernel can follow', () => {
    const procfs = { ...fsx, lstat: (f: string): FileStat => (f === '/proc' || f.startsWith('/proc/') ? { uid: 0, gid: 0, mode: 0o40555, isDirectory: true, isSymbolicLink: false, isProcfs: true } : fsx.lstat(f)) };
    expect(() => walkPath('/proc/self/fd/3', '/', procfs)).toThrow('--group-of /proc/self/fd/3: it leads into /proc (at /proc), whose links the walk cannot follow as the kernel does; name the socket or device itself');
  });
});
