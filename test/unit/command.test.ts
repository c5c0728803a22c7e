import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type Binfmt, type FileSystem, type Probe, DEFAULT_PATH, checkExecutable, resolveCommand } from '../../src/command.js';
import { StepdownError } from '../../src/errors.js';
import { type Format, binfmtMatches, detectFormat, elfInterpreter, parseBinfmtEntry, runsNatively } from '../../src/executable.js';

/** The first bytes of a 64-bit little-endian ELF executable for `machine` (62 x86-64, 183 aarch64). */
function elfHead(machine: number): Buffer {
  const h = Buffer.alloc(64);
  h.writeUInt32BE(0x7f454c46, 0);
  h[4] = 2;
  h[5] = 1;
  h[6] = 1;
  h.writeUInt16LE(2, 0x10); // ET_EXEC
  h.writeUInt16LE(machine, 0x12);
  return h;
}
const elf = (interpreter: string | null, machine = process.arch === 'arm64' ? 183 : 62): Format => ({ kind: 'elf', interpreter, machine, head: elfHead(machine) });

function fakeFs(files: Record<string, Probe>, formats: Record<string, Format | 'unreadable'> = {}, binfmt: Binfmt = 'unknown'): FileSystem {
  return {
    probe: (f) => files[f] ?? 'missing',
    format: (f) => formats[f] ?? elf(null),
    binfmt: () => binfmt,
  };
}

function code(fn: () => unknown): [number, string] {
  try {
    fn();
  } catch (err) {
    if (err instanceof StepdownError) return [err.exitCode, err.message];
    throw err;
  }
  throw new Error('did not fail');
}

describe('resolveCommand', () => {
  const fsys = fakeFs({
    '/usr/bin/id': 'executable',
    '/bin/id': 'executable',
    '/opt/bin/tool': 'not-executable',
    '/usr/bin/tool': 'executable',
    '/secret/bin/hidden': 'unsearchable',
    'bin/local': 'executable',
    'rel/mine': 'executable',
    'mine': 'executable',
    '/data': 'directory',
  });

  it('searches PATH in order and returns the first executable', () => {
    expect(resolveCommand('id', '/usr/bin:/bin', fsys)).toBe('/usr/bin/id');
  });

  it('uses a name with a slash as given', () => {
    expect(resolveCommand('bin/local', '/nowhere', fsys)).toBe('bin/local');
  });

  it('skips a non-executable hit and keeps searching, like execvp', () => {
    expect(resolveCommand('tool', '/opt/bin:/usr/bin', fsys)).toBe('/usr/bin/tool');
  });

  it('reports 126 when the only hit is not executable', () => {
    expect(code(() => resolveCommand('tool', '/opt/bin', fsys))).toEqual([126, expect.stringContaining('/opt/bin/tool: permission denied')]);
  });

  it('uses the default system PATH when PATH is unset', () => {
    expect(DEFAULT_PATH).toContain('/usr/bin');
    expect(resolveCommand('id', undefined, fsys)).toBe('/usr/bin/id');
  });

  it('never runs a hit from an empty or relative PATH entry (127, with the reason)', () => {
    expect(code(() => resolveCommand('mine', ':/usr/bin', fsys))).toEqual([127, expect.stringMatching(/found only through an empty PATH entry/)]);
    expect(code(() => resolveCommand('mine', 'rel:/usr/bin', fsys))).toEqual([127, expect.stringMatching(/relative PATH entry 'rel'/)]);
  });

  it('treats a directory it may not search as not there', () => {
    expect(code(() => resolveCommand('hidden', '/secret/bin', fsys))).toEqual([127, expect.stringMatching(/'hidden' not found in PATH \(\/secret\/bin\)/)]);
  });

  it.each([
    ['', 127, /empty string/],
    ['/nope/x', 127, /\/nope\/x: no such file/],
    ['/data', 126, /is a directory/],
    ['nosuch', 127, /command 'nosuch' not found in PATH/],
  ])('%j → %i', (name, exit, message) => {
    const [c, m] = code(() => resolveCommand(name, '/usr/bin', fsys));
    expect(c).toBe(exit);
    expect(m).toMatch(message);
  });
});

describe('checkExecutable', () => {
  const fsys = fakeFs(
    { '/bin/sh': 'executable', '/lib64/ld-linux-x86-64.so.2': 'executable', '/usr/bin/env': 'executable', '/noexec/interp': 'not-executable', '/a': 'executable', '/b': 'executable', '/c': 'executable', '/d': 'executable' },
    {
      '/s/ok': { kind: 'script', interpreter: '/bin/sh' },
      '/s/bad': { kind: 'script', interpreter: '/usr/bin/python9' },
      '/s/noexec': { kind: 'script', interpreter: '/noexec/interp' },
      '/s/plain': { kind: 'unknown' },
      '/e/static': elf(null),
      '/e/glibc': elf('/lib64/ld-linux-x86-64.so.2'),
      '/e/musl': elf('/lib/ld-musl-x86_64.so.1'),
      '/e/execonly': 'unreadable',
      '/bin/sh': elf('/lib64/ld-linux-x86-64.so.2'),
      '/s/deep': { kind: 'script', interpreter: '/a' },
      '/a': { kind: 'script', interpreter: '/b' },
      '/b': { kind: 'script', interpreter: '/c' },
      '/c': { kind: 'script', interpreter: '/d' },
      '/d': { kind: 'script', interpreter: '/bin/sh' },
    },
  );

  it.each(['/s/ok', '/e/static', '/e/glibc', '/e/execonly'])('accepts %s', (f) => {
    expect(() => checkExecutable(f, fsys)).not.toThrow();
  });

  it.each([
    ['/s/bad', 127, /'#!' interpreter \/usr\/bin\/python9 does not exist/],
    ['/s/noexec', 126, /cannot be executed/],
    ['/s/plain', 126, /exec format error.*needs one/],
    ['/e/musl', 127, /ELF interpreter.*ld-musl-x86_64.so.1 does not exist.*glibc vs musl/],
    ['/s/deep', 126, /too many nested/],
  ])('refuses %s with %i', (f, exit, message) => {
    const [c, m] = code(() => checkExecutable(f, fsys));
    expect(c).toBe(exit);
    expect(m).toMatch(message);
  });
});

describe('an ELF for another CPU (binfmt_misc)', () => {
  // Debian's qemu-user-binfmt registration for aarch64, as /proc/sys/fs/binfmt_misc/qemu-aarch64 shows it
  const QEMU_AARCH64 = `enabled
interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P
flags: POCF
offset 0
magic 7f454c460201010000000000000000000200b700
mask ffffffffffffff00fffffffffffffffffeffffff
`;
  const foreign = process.arch === 'arm64' ? 62 : 183;
  const formats = { '/foreign': elf('/lib/ld-linux-aarch64.so.1', foreign) };
  const qemu = parseBinfmtEntry(QEMU_AARCH64)!;

  it('parses a registration and matches it by masked magic', () => {
    expect(qemu).toMatchObject({ enabled: true, offset: 0 });
    expect(binfmtMatches(qemu, elfHead(183))).toBe(true);
    expect(binfmtMatches(qemu, elfHead(62))).toBe(false);
    expect(binfmtMatches({ ...qemu, enabled: false }, elfHead(183))).toBe(false);
    expect(parseBinfmtEntry('enabled\ninterpreter /usr/bin/java\nflags: \nextension .jar\n')).toBeUndefined();
  });

  it('knows what runs natively', () => {
    expect(runsNatively(62, 'x64')).toBe(true);
    expect(runsNatively(3, 'x64')).toBe(true); // i386 on x86-64
    expect(runsNatively(183, 'x64')).toBe(false);
    expect(runsNatively(40, 'arm64')).toBe(true);
  });

  it('is not rejected when binfmt_misc is not visible (the kernel may still run it) or a handler matches', () => {
    expect(() => checkExecutable('/foreign', fakeFs({}, formats, 'unknown'))).not.toThrow();
    if (foreign === 183) expect(() => checkExecutable('/foreign', fakeFs({}, formats, { enabled: true, entries: [qemu] }))).not.toThrow();
  });

  it.each([
    ['no handler', { enabled: true, entries: [] }],
    ['binfmt_misc disabled', { enabled: false, entries: [qemu] }],
    ['the handler disabled', { enabled: true, entries: [{ ...qemu, enabled: false }] }],
  ] as [string, Binfmt][])('is refused with 126 when binfmt_misc is visible and cannot run it: %s', (_what, binfmt) => {
    const [c, m] = code(() => checkExecutable('/foreign', fakeFs({}, formats, binfmt)));
    expect(c).toBe(126);
    expect(m).toMatch(/exec format error: built for (aarch64|x86-64), this machine runs (x86-64|aarch64), and no binfmt_misc handler runs it/);
  });
});

describe('detectFormat on real files', () => {
  const reader = (file: string) => {
    const data = fs.readFileSync(file);
    return (offset: number, length: number) => data.subarray(offset, offset + length);
  };

  it("finds the dynamic loader of this machine's /bin/true", () => {
    const f = detectFormat(reader('/bin/true'));
    expect(f).toMatchObject({ kind: 'elf', interpreter: expect.stringMatching(/^\/lib.*ld-linux.*\.so\.\d$/), machine: process.arch === 'arm64' ? 183 : 62 });
  });

  it('parses #! lines with arguments and leading blanks', () => {
    const from = (s: string) => detectFormat((o, l) => Buffer.from(s).subarray(o, o + l));
    expect(from('#!/bin/sh -e\necho')).toEqual({ kind: 'script', interpreter: '/bin/sh' });
    expect(from('#! \t/usr/bin/env node\n')).toEqual({ kind: 'script', interpreter: '/usr/bin/env' });
    expect(from('#!\n')).toEqual({ kind: 'unknown' });
    expect(from('echo hi\n')).toEqual({ kind: 'unknown' });
    expect(from('')).toEqual({ kind: 'unknown' });
  });

  it('reads PT_INTERP from 32-bit and big-endian ELF headers too', () => {
    // A hand-made 32-bit big-endian ELF: header (52 bytes), one PT_INTERP program header.
    const buf = Buffer.alloc(200);
    buf.writeUInt32BE(0x7f454c46, 0);
    buf[4] = 1; // 32-bit
    buf[5] = 2; // big-endian
    buf.writeUInt32BE(52, 0x1c); // e_phoff
    buf.writeUInt16BE(32, 0x2a); // e_phentsize
    buf.writeUInt16BE(1, 0x2c); // e_phnum
    buf.writeUInt32BE(3, 52); // p_type = PT_INTERP
    buf.writeUInt32BE(100, 56); // p_offset
    buf.writeUInt32BE(14, 52 + 0x10); // p_filesz
    buf.write('/lib/ld.so.1\0', 100, 'latin1');
    expect(elfInterpreter((o, l) => buf.subarray(o, o + l))).toBe('/lib/ld.so.1');
  });
});
