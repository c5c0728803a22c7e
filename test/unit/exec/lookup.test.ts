import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type Binfmt, parseBinfmtEntry } from '../../../src/exec/binfmt.js';
import { QEMU_AARCH64 } from '../../helpers/binfmt-fixture.js';
import { type FileSystem, type Probe, DEFAULT_PATH, checkExecutable, mayExecute, resolveCommand } from '../../../src/exec/lookup.js';
import { StepdownError } from '../../../src/system/errors.js';
import { detectFormat, elfInterpreter, runsNatively } from '../../../src/exec/preflight.js';

const NATIVE_MACHINE = process.arch === 'arm64' ? 183 : 62;

/**
 * A small 64-bit little-endian ELF for `machine`: header, one program header (PT_INTERP when
 * an interpreter is given, else PT_LOAD), the interpreter path. Fields can be spoiled with `patch`.
 */
function makeElf(opts: { interpreter?: string | null; machine?: number; type?: number; elfClass?: number } = {}): Buffer {
  const interp = opts.interpreter ?? null;
  const buf = Buffer.alloc(64 + 56 + 64);
  buf.writeUInt32BE(0x7f454c46, 0);
  buf[4] = opts.elfClass ?? 2;
  buf[5] = 1;
  buf[6] = 1;
  buf.writeUInt16LE(opts.type ?? 3, 0x10);
  buf.writeUInt16LE(opts.machine ?? NATIVE_MACHINE, 0x12);
  buf.writeBigUInt64LE(64n, 0x20); // e_phoff
  buf.writeUInt16LE(56, 0x36); // e_phentsize
  buf.writeUInt16LE(1, 0x38); // e_phnum
  buf.writeUInt32LE(interp === null ? 1 : 3, 64); // p_type
  if (interp !== null) {
    buf.writeBigUInt64LE(120n, 64 + 0x08); // p_offset
    buf.writeBigUInt64LE(BigInt(interp.length + 1), 64 + 0x20); // p_filesz
    buf.write(interp + '\0', 120, 'latin1');
  }
  return buf;
}
const elfHead = (machine: number) => makeElf({ machine }).subarray(0, 64);
const LOADER = process.arch === 'arm64' ? '/lib/ld-linux-aarch64.so.1' : '/lib64/ld-linux-x86-64.so.2';

function fakeFs(files: Record<string, Probe>, contents: Record<string, Buffer | string | 'unreadable'> = {}, binfmt: Binfmt = 'unknown'): FileSystem {
  return {
    probe: (f) => files[f.toString()] ?? 'missing',
    read(f, parse) {
      const c = contents[f.toString()] ?? makeElf();
      if (c === 'unreadable') return 'unreadable';
      const data = Buffer.from(c);
      return parse((o, l) => data.subarray(o, o + l));
    },
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
  const executable = Object.fromEntries(['/bin/sh', LOADER, '/usr/bin/env', '/a', '/b', '/c', '/d', '/e', '/f', '/rel.o', '/trunc', '/garbage', '/s/bad', '/e32', '/s/five'].map((f) => [f, 'executable' as Probe]));
  const scriptTo = (to: string) => `#!${to}\n`;
  const fsys = fakeFs(
    { ...executable, '/noexec/interp': 'not-executable', '/dir': 'directory' },
    {
      '/s/ok': '#!/bin/sh -e\necho',
      '/s/bad': '#!/usr/bin/python9\n',
      '/s/crlf': '#!/bin/sh\r\n',
      '/s/noexec': '#!/noexec/interp\n',
      '/s/dir': '#!/dir\n',
      '/s/plain': 'echo hi\n',
      '/s/empty': '#!  \n',
      '/s/long': '#!/' + 'x'.repeat(300),
      '/s/long-ok': '#!/bin/sh ' + 'x'.repeat(300),
      '/e/static': makeElf(),
      '/e/glibc': makeElf({ interpreter: LOADER }),
      '/e/musl': makeElf({ interpreter: '/lib/ld-musl-x86_64.so.1' }),
      '/e/execonly': 'unreadable',
      '/e/rel': makeElf({ type: 1 }),
      '/e/core': makeElf({ type: 4 }),
      '/e/trunc': makeElf({ interpreter: LOADER }).subarray(0, 100),
      '/e/tiny': makeElf().subarray(0, 20),
      '/e/phentsize': (() => { const b = makeElf(); b.writeUInt16LE(40, 0x36); return b; })(),
      '/e/nophdrs': (() => { const b = makeElf(); b.writeUInt16LE(0, 0x38); return b; })(),
      '/e/interp-nonul': (() => { const b = makeElf({ interpreter: LOADER }); b.writeBigUInt64LE(BigInt(LOADER.length), 64 + 0x20); return b; })(),
      '/e/bad-loader': makeElf({ interpreter: '/garbage' }),
      '/e/rel-loader': makeElf({ interpreter: '/rel.o' }),
      '/e/32-loader': makeElf({ interpreter: '/e32' }),
      '/e32': makeElf({ machine: NATIVE_MACHINE === 62 ? 3 : 40 }),
      '/e/class-byte': makeElf({ elfClass: 1 }), // the kernel ignores e_ident's class: it runs
      '/garbage': 'garbage\n',
      '/rel.o': makeElf({ type: 1 }),
      '/s/to-garbage': scriptTo('/garbage'),
      '/s/to-rel': scriptTo('/rel.o'),
      '/bin/sh': makeElf({ interpreter: LOADER }),
      // five '#!' levels run; six do not (Linux's exec_binprm depth limit)
      '/s/five': scriptTo('/a'),
      '/a': scriptTo('/b'),
      '/b': scriptTo('/c'),
      '/c': scriptTo('/d'),
      '/d': scriptTo('/bin/sh'),
      '/s/six': scriptTo('/s/five'),
    },
  );

  it.each(['/s/ok', '/s/long-ok', '/e/static', '/e/glibc', '/e/execonly', '/s/five', '/e/class-byte'])('accepts %s', (f) => {
    expect(() => checkExecutable(f, fsys)).not.toThrow();
  });

  it('returns every file execve opens and the #! levels', () => {
    expect(checkExecutable('/s/ok', fsys)).toEqual({ files: ['/s/ok', '/bin/sh', LOADER], scripts: [{ script: '/s/ok', interpreter: '/bin/sh', arg: '-e' }] });
  });

  it.each([
    ['/s/bad', 127, /^\/s\/bad: its '#!' interpreter \/usr\/bin\/python9 does not exist$/],
    ['/s/crlf', 127, /interpreter \/bin\/sh\r does not exist/],
    ['/s/noexec', 126, /^\/s\/noexec: its '#!' interpreter \/noexec\/interp: permission denied: uid \d+ may not execute it$/],
    ['/s/dir', 126, /its '#!' interpreter \/dir: is a directory, not a program$/],
    ['/s/plain', 126, /exec format error.*needs one/],
    ['/s/empty', 126, /exec format error: its '#!' line names no interpreter/],
    ['/s/long', 126, /longer than the 255 bytes Linux reads/],
    ['/e/musl', 127, /ELF interpreter.*ld-musl-x86_64.so.1 does not exist.*glibc vs musl/],
    ['/e/rel', 126, /^\/e\/rel: exec format error: an ELF relocatable object/],
    ['/e/core', 126, /exec format error: an ELF core dump/],
    ['/e/trunc', 126, /exec format error: a truncated ELF file/],
    ['/e/phentsize', 126, /damaged ELF header \(program header size 40/],
    ['/e/nophdrs', 126, /damaged ELF header \(0 program headers\)/],
    ['/e/interp-nonul', 126, /not NUL-terminated/],
    ['/e/bad-loader', 126, /ELF interpreter \(dynamic loader\) \/garbage is not an ELF file/],
    ['/e/rel-loader', 126, /\/rel.o is an ELF relocatable object/],
    ['/e/32-loader', 126, /\/e32 is an ELF for (i386|arm), the program is for (x86-64|aarch64)/],
    ['/e/tiny', 126, /exec format error: a truncated ELF file: it ends inside its header/],
    ['/s/to-garbage', 126, /^\/s\/to-garbage: its '#!' interpreter \/garbage: exec format error/],
    ['/s/to-rel', 126, /^\/s\/to-rel: its '#!' interpreter \/rel.o: exec format error: an ELF relocatable/],
    ['/s/six', 126, /^\/s\/six: too many nested interpreters: \/s\/six → \/s\/five → \/a → \/b → \/c → \/d is 6 levels.*at most 5/],
  ])('refuses %s with %i', (f, exit, message) => {
    const [c, m] = code(() => checkExecutable(f, fsys));
    expect(c).toBe(exit);
    expect(m).toMatch(message);
  });

  it('an unknown format that binfmt_misc claims (by magic or extension) is left to the kernel', () => {
    const jar = parseBinfmtEntry('enabled\ninterpreter /usr/bin/jexec\nflags: \nextension .jar\n')!;
    const mz = parseBinfmtEntry('enabled\ninterpreter /usr/bin/wine\nflags: \noffset 0\nmagic 4d5a\n')!;
    const f = fakeFs({ '/usr/bin/jexec': 'executable', '/usr/bin/wine': 'executable' }, { '/app.jar': 'PK\x03\x04', '/app.exe': 'MZ\x90', '/app.bin': 'PK' }, { enabled: true, entries: [jar, mz] });
    expect(checkExecutable('/app.jar', f).files).toEqual(['/app.jar']);
    expect(checkExecutable('/app.exe', f).files).toEqual(['/app.exe']);
    expect(code(() => checkExecutable('/app.bin', f))[0]).toBe(126);
  });

  it('binfmt_misc is asked before the #! and ELF handlers, and its rewrite counts towards the depth', () => {
    const sh = parseBinfmtEntry('enabled\ninterpreter /usr/bin/other\nflags: \nextension .sh\n')!;
    const f = fakeFs({ '/b.sh': 'executable', '/a': 'executable', '/usr/bin/other': 'executable' }, { '/x.sh': '#!/missing\n', '/deep': '#!/a\n', '/a': '#!/b.sh\n' }, { enabled: true, entries: [sh] });
    expect(checkExecutable('/x.sh', f).files).toEqual(['/x.sh']); // the missing '#!' interpreter is not the kernel's concern here
    expect(checkExecutable('/deep', f).files).toEqual(['/deep', '/a', '/b.sh']);
    expect(code(() => checkExecutable('/x.sh', fakeFs({}, { '/x.sh': '#!/missing\n' }, { enabled: false, entries: [sh] })))[0]).toBe(127);
    const chain = { '/s1': '#!/s2\n', '/s2': '#!/s3\n', '/s3': '#!/s4\n', '/s4': '#!/s5\n', '/s5': '#!/x.sh\n' };
    const probes = Object.fromEntries(['/s2', '/s3', '/s4', '/s5', '/x.sh', '/usr/bin/other'].map((p) => [p, 'executable' as Probe]));
    expect(code(() => checkExecutable('/s1', fakeFs(probes, chain, { enabled: true, entries: [sh] })))).toEqual([126, expect.stringMatching(/\/s1 → \/s2 → \/s3 → \/s4 → \/s5 → \/x.sh is 6 levels/)]);
    expect(checkExecutable('/s2', fakeFs(probes, chain, { enabled: true, entries: [sh] })).files).toHaveLength(5);
  });
});

describe('the kernel-refused paths execvp and the shells report with 126', () => {
  const fsys = fakeFs({ '/loop': 'symlink-loop', '/bin/true/x': 'not-directory', '/long': 'name-too-long', '/mnt/tool': 'noexec-mount', '/usr/bin/id': 'executable' });
  it.each([
    ['/loop', /^\/loop: too many levels of symbolic links \(ELOOP\)$/],
    ['/bin/true/x', /^\/bin\/true\/x: not a directory \(ENOTDIR\)/],
    ['/long', /^\/long: file name too long \(ENAMETOOLONG\)$/],
    ['/mnt/tool', /^\/mnt\/tool: permission denied: it is on a noexec mount/],
  ])('%s', (name, message) => {
    const [c, m] = code(() => resolveCommand(name, '/usr/bin', fsys));
    expect(c).toBe(126);
    expect(m).toMatch(message);
  });

  it('in a PATH search a file where a directory should be is skipped; a symlink loop stops the search, like execvp', () => {
    const f = fakeFs({ '/bin/true/id': 'not-directory', '/usr/bin/id': 'executable', '/loop/id': 'symlink-loop' });
    expect(resolveCommand('id', '/bin/true:/usr/bin', f)).toBe('/usr/bin/id');
    expect(code(() => resolveCommand('id', '/loop:/usr/bin', f))).toEqual([126, '/loop/id: too many levels of symbolic links (ELOOP)']);
  });

  it('a PATH entry is concatenated as execvp does, never normalised (lnk/.. is resolved by the kernel)', () => {
    const f = fakeFs({ '/x/lnk/../id': 'executable', '/x/id': 'executable' });
    expect(resolveCommand('id', '/x/lnk/..', f)).toBe('/x/lnk/../id');
    expect(resolveCommand('id', '/x/', fakeFs({ '/x//id': 'executable' }))).toBe('/x//id');
  });

  it("a bare '#!' (no newline) names no interpreter: 126, not a missing file", () => {
    const f = fakeFs({}, { '/s/bare': '#!' });
    expect(code(() => checkExecutable('/s/bare', f))).toEqual([126, "/s/bare: exec format error: its '#!' line names no interpreter"]);
  });
});

describe('interpreter paths are the bytes in the file', () => {
  const probes: Record<string, Probe> = {};
  const bytesFs = (exists: (p: Buffer) => boolean, contents: Record<string, Buffer>): FileSystem => ({
    probe: (f) => (exists(Buffer.isBuffer(f) ? f : Buffer.from(f)) ? 'executable' : (probes[f.toString()] ?? 'missing')),
    read(f, parse) {
      const data = contents[Buffer.isBuffer(f) ? f.toString('latin1') : f] ?? makeElf();
      return parse((o, l) => data.subarray(o, o + l));
    },
    binfmt: () => 'unknown',
  });
  const caf = Buffer.from('/opt/caf\xe9/sh', 'latin1'); // Latin-1 bytes, not UTF-8
  const mojibake = Buffer.from('/opt/caf\u00e9/sh', 'utf8'); // what a latin1 → UTF-8 round trip names

  it('a non-UTF-8 #! interpreter that exists passes; its mojibake twin does not count', () => {
    const script = Buffer.concat([Buffer.from('#!'), caf, Buffer.from('\n')]);
    const ok = bytesFs((p) => p.equals(caf), { '/s': script });
    expect(checkExecutable('/s', ok).files).toEqual(['/s', caf]);
    const twin = bytesFs((p) => p.equals(mojibake), { '/s': script });
    expect(code(() => checkExecutable('/s', twin))).toEqual([127, "/s: its '#!' interpreter /opt/caf\\xe9/sh does not exist"]);
  });

  it('a UTF-8 #! interpreter is looked up as that UTF-8 path', () => {
    const f = bytesFs((p) => p.equals(mojibake), { '/s': Buffer.from('#!/opt/caf\u00e9/sh\n', 'utf8') });
    expect(checkExecutable('/s', f).files).toEqual(['/s', '/opt/caf\u00e9/sh']);
  });

  it('a non-UTF-8 PT_INTERP is probed as its bytes', () => {
    const elf = makeElf({ interpreter: '/lib/ld-\xe9.so' });
    const loader = Buffer.from('/lib/ld-\xe9.so', 'latin1');
    expect(checkExecutable('/e', bytesFs((p) => p.equals(loader), { '/e': elf, '/lib/ld-\xe9.so': makeElf() })).files).toEqual(['/e', loader]);
    expect(code(() => checkExecutable('/e', bytesFs(() => false, { '/e': elf })))[0]).toBe(127);
  });
});

describe('offsets from the ELF header are bounds-checked', () => {
  const f = (elf: Buffer) => fakeFs({ [LOADER]: 'executable' }, { '/e': elf, [LOADER]: makeElf() });
  it.each([
    ['e_phoff beyond 2^53', (b: Buffer) => b.writeBigUInt64LE(0xffffffffffffff00n, 0x20)],
    ['e_phoff past the end', (b: Buffer) => b.writeBigUInt64LE(1n << 40n, 0x20)],
    ['PT_INTERP p_offset beyond 2^53', (b: Buffer) => b.writeBigUInt64LE(0xfffffffffffffff0n, 64 + 0x08)],
  ])('%s: 126, the kernel reads short (EIO)', (_what, spoil) => {
    const elf = makeElf({ interpreter: LOADER });
    spoil(elf);
    const [c, m] = code(() => checkExecutable('/e', f(elf)));
    expect(c).toBe(126);
    expect(m).toMatch(/^\/e: exec format error: a truncated ELF file: it ends before its (program headers|interpreter path) do(es)? \(EIO\)$/);
  });

  it("the loader's own e_phoff beyond 2^53: 126", () => {
    const loader = makeElf();
    loader.writeBigUInt64LE(0xffffffffffffff00n, 0x20);
    const [c, m] = code(() => checkExecutable('/e', fakeFs({ [LOADER]: 'executable' }, { '/e': makeElf({ interpreter: LOADER }), [LOADER]: loader })));
    expect(c).toBe(126);
    expect(m).toMatch(/ELF interpreter \(dynamic loader\) .* is a truncated ELF file: it ends before its program headers do \(EIO\)$/);
  });
});

describe('binfmt_misc handlers', () => {
  const garb = (flags: string) => parseBinfmtEntry(`enabled\ninterpreter /nonexistent/interp\nflags: ${flags}\noffset 0\nmagic 47415242\n`)!;
  it('a handler whose interpreter is missing: 127, naming it (the kernel fails with ENOENT)', () => {
    const f = fakeFs({}, { '/t/garb': 'GARB' }, { enabled: true, entries: [garb('')] });
    expect(code(() => checkExecutable('/t/garb', f))).toEqual([127, expect.stringMatching(/^\/t\/garb: the binfmt_misc handler that claims it runs \/nonexistent\/interp, which does not exist here/)]);
  });

  it('a handler whose interpreter may not be executed: 126', () => {
    const f = fakeFs({ '/nonexistent/interp': 'not-executable' }, { '/t/garb': 'GARB' }, { enabled: true, entries: [garb('')] });
    expect(code(() => checkExecutable('/t/garb', f))[0]).toBe(126);
  });

  it('the F flag: the kernel opened the interpreter at registration, so it need not be visible', () => {
    const f = fakeFs({}, { '/t/garb': 'GARB' }, { enabled: true, entries: [garb('F')] });
    expect(checkExecutable('/t/garb', f).files).toEqual(['/t/garb']);
  });
});

describe('mayExecute: the mode bits for the target', () => {
  const who = { uid: 1000, gid: 1000, groups: [1000, 50] };
  it.each([
    [{ mode: 0o100700, uid: 1000, gid: 0 }, who, true],
    [{ mode: 0o100070, uid: 1000, gid: 1000 }, who, false], // the owner class decides for the owner
    [{ mode: 0o100710, uid: 0, gid: 50 }, who, true],
    [{ mode: 0o100701, uid: 0, gid: 50 }, who, false],
    [{ mode: 0o100701, uid: 0, gid: 0 }, who, true],
    [{ mode: 0o100600, uid: 0, gid: 0 }, { uid: 0, gid: 0, groups: [] }, false],
    [{ mode: 0o100001, uid: 5, gid: 5 }, { uid: 0, gid: 0, groups: [] }, true],
  ])('%o', (st, rights, expected) => {
    expect(mayExecute(st, rights)).toBe(expected);
  });
});

describe('an ELF for another CPU (binfmt_misc)', () => {
  const foreign = process.arch === 'arm64' ? 62 : 183;
  const formats = { '/foreign': makeElf({ interpreter: '/lib/ld-linux-aarch64.so.1', machine: foreign }) };
  const qemu = parseBinfmtEntry(QEMU_AARCH64)!;

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
    expect(from('#!/bin/sh -e\necho')).toEqual({ kind: 'script', interpreter: '/bin/sh', arg: '-e' });
    expect(from('#! \t/usr/bin/env node  -x \t\n')).toEqual({ kind: 'script', interpreter: '/usr/bin/env', arg: 'node  -x' });
    expect(from('#!/bin/sh')).toEqual({ kind: 'script', interpreter: '/bin/sh', arg: null });
    expect(from('#!/bin/sh\0 -x\n')).toEqual({ kind: 'script', interpreter: '/bin/sh', arg: null });
    expect(from('#!/bin/sh\r\n')).toEqual({ kind: 'script', interpreter: '/bin/sh\r', arg: null });
    expect(from('#!/bin/sh ' + 'x'.repeat(400))).toEqual({ kind: 'script', interpreter: '/bin/sh', arg: 'x'.repeat(255 - 10) });
    expect(from('#!\n')).toMatchObject({ kind: 'unknown' });
    expect(from('echo hi\n')).toMatchObject({ kind: 'unknown' });
    expect(from('')).toMatchObject({ kind: 'unknown' });
  });

  it('reads PT_INTERP from 32-bit and big-endian ELF headers too', () => {
    // A hand-made 32-bit big-endian ELF: header (52 bytes), one PT_INTERP program header.
    const buf = Buffer.alloc(200);
    buf.writeUInt32BE(0x7f454c46, 0);
    buf[4] = 1; // 32-bit
    buf[5] = 2; // big-endian
    buf.writeUInt16BE(2, 0x10); // ET_EXEC
    buf.writeUInt16BE(20, 0x12); // EM_PPC
    buf.writeUInt32BE(52, 0x1c); // e_phoff
    buf.writeUInt16BE(32, 0x2a); // e_phentsize
    buf.writeUInt16BE(1, 0x2c); // e_phnum
    buf.writeUInt32BE(3, 52); // p_type = PT_INTERP
    buf.writeUInt32BE(100, 56); // p_offset
    buf.writeUInt32BE(14, 52 + 0x10); // p_filesz
    buf.write('/lib/ld.so.1\0', 100, 'latin1');
    expect(elfInterpreter((o, l) => buf.subarray(o, o + l), 'ppc')).toBe('/lib/ld.so.1');
  });
});
