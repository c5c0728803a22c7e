// Every file execve(2) would refuse is refused by stepdown first, with 126/127 and one line,
// never a Node abort (exit 134 and a stack): built for real, as root, including files the
// target may execute but not read (mode 0711), which stepdown reads with root's rights during
// the drop. Also: '#!' chains to the kernel's depth, E2BIG, escaped messages, too many groups,
// a stderr nobody reads.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAB_GROUP, LAB_PASSWD } from '../helpers/lab.js';
import { BASE_PATH, IS_ROOT, type Run, type Subject, stepdown, subjects, tempDir } from '../helpers/harness.js';

function expectRefusal(r: Run, code: number, message: RegExp) {
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^stepdown: [^\n]+\n$/); // exactly one line
  expect(r.stderr).toMatch(message);
  expect(r.status).toBe(code);
}

const LOADER = '/lib64/ld-linux-x86-64.so.2';
const haveCc = spawnSync('cc', ['--version']).status === 0;

describe.skipIf(!IS_ROOT || process.arch !== 'x64').each(subjects())('execve decided beforehand ($name)', (subject: Subject) => {
  let dir: string;
  let marker: string;
  const file = (name: string) => path.join(dir, name);
  const write = (name: string, content: string | Buffer, mode: number) => {
    fs.writeFileSync(file(name), content);
    fs.chmodSync(file(name), mode); // exact, whatever the umask
  };
  const scriptTo = (target: string) => `#!${target}\n`;

  beforeAll(() => {
    dir = tempDir();
    marker = file('ran');
    fs.chmodSync(dir, 0o777);
    const elf = fs.readFileSync('/bin/true');
    const at = elf.indexOf(LOADER);
    expect(at).toBeGreaterThan(0);
    // execute-only (0711): the target may run these but not read them
    write('garbage', 'garbage, not a program\n', 0o711);
    write('nosh', '#!/nonexistent/sh\ntouch ran\n', 0o711);
    const musl = Buffer.from(elf);
    musl.write('/lib/ld-musl-none_64.so.1\0\0', at, 'latin1'); // a loader this image lacks, same length
    write('musl', musl, 0o711);
    // an ELF relocatable object, chmod +x
    if (haveCc) {
      fs.writeFileSync(file('obj.c'), 'int answer = 42;\n');
      expect(spawnSync('cc', ['-c', '-o', file('obj.o'), file('obj.c')]).status).toBe(0);
    } else {
      const rel = Buffer.from(elf);
      rel.writeUInt16LE(1, 0x10); // ET_REL
      fs.writeFileSync(file('obj.o'), rel);
    }
    fs.chmodSync(file('obj.o'), 0o755);
    write('trunc', elf.subarray(0, 100), 0o755);
    for (const t of ['garbage', 'nosh', 'musl', 'obj.o', 'trunc']) write(`to-${t}`, scriptTo(file(t)), 0o755);
    // '#!' chains: s1 is one script, s5 five levels (what Linux runs), s6 six
    write('s1', '#!/bin/sh\ntouch "$(dirname "$0")/ran"\n', 0o755);
    for (let i = 2; i <= 6; i++) write(`s${i}`, scriptTo(file(`s${i - 1}`)), 0o755);
    write('crlf', '#!/bin/sh\r\ntouch ran\r\n', 0o755);
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const cases: [string, string, number, RegExp][] = [
    ['0711 garbage', 'garbage', 126, /garbage: exec format error: not an ELF binary and no '#!' line/],
    ['0711 #!/nonexistent/sh', 'nosh', 127, /nosh: its '#!' interpreter \/nonexistent\/sh does not exist$/m],
    ['0711 ELF whose loader (musl) is missing', 'musl', 127, /musl: its ELF interpreter \(dynamic loader\) \/lib\/ld-musl-none_64.so.1 does not exist; .*glibc vs musl/],
    ['an ELF relocatable object', 'obj.o', 126, /obj.o: exec format error: an ELF relocatable object/],
    ['a truncated ELF', 'trunc', 126, /trunc: exec format error: a truncated ELF file/],
    ['#! to 0711 garbage', 'to-garbage', 126, /to-garbage: its '#!' interpreter \S+\/garbage: exec format error: not an ELF/],
    ['#! to a 0711 script whose interpreter is missing', 'to-nosh', 127, /to-nosh: its '#!' interpreter \S+\/nosh: its '#!' interpreter \/nonexistent\/sh does not exist/],
    ['#! to a 0711 ELF whose loader is missing', 'to-musl', 127, /to-musl: its '#!' interpreter \S+\/musl: its ELF interpreter.*ld-musl-none_64.so.1 does not exist/],
    ['#! to an ELF relocatable object', 'to-obj.o', 126, /to-obj.o: its '#!' interpreter \S+\/obj.o: exec format error: an ELF relocatable/],
    ['#! to a truncated ELF', 'to-trunc', 126, /to-trunc: its '#!' interpreter \S+\/trunc: exec format error: a truncated ELF/],
    ['six nested #! levels (Linux runs five)', 's6', 126, /s6: too many nested interpreters: \S+\/s6 → \S+\/s5 → \S+\/s4 → \S+\/s3 → \S+\/s2 → \S+\/s1 is 6 levels of '#!', Linux runs at most 5 \(ELOOP\)$/m],
  ];

  it.each(cases)('%s: refused, nothing runs', (_what, name, code, message) => {
    const r = stepdown(subject, ['nobody', file(name)]);
    expectRefusal(r, code, message);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('a program on a noexec mount: 126, nothing runs', () => {
    const nx = file('nx');
    fs.mkdirSync(nx, { recursive: true });
    const r = stepdown(subject, ['nobody', `${nx}/touch`, marker], { setup: `mount -t tmpfs -o noexec,mode=755 none ${nx} && cp /usr/bin/touch ${nx}/touch` });
    expectRefusal(r, 126, /nx\/touch: permission denied: it is on a noexec mount; /);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it("a '#!' interpreter on a noexec mount: 126, saying so", () => {
    const nx = file('nx2');
    fs.mkdirSync(nx, { recursive: true });
    write('to-nx', `#!${nx}/sh\ntouch ran\n`, 0o755);
    const r = stepdown(subject, ['nobody', file('to-nx')], { setup: `mount -t tmpfs -o noexec,mode=755 none ${nx} && cp /bin/sh ${nx}/sh` });
    expectRefusal(r, 126, /to-nx: its '#!' interpreter \S+\/nx2\/sh: permission denied: it is on a noexec mount; /);
    expect(fs.existsSync(marker)).toBe(false);
  });

  describe('interpreter paths are the bytes in the file, not a re-encoding', () => {
    const latin1 = (name: string) => Buffer.concat([Buffer.from(file(name)), Buffer.from([0xe9])]); // '…\xe9': not UTF-8
    const mojibake = (name: string) => Buffer.concat([Buffer.from(file(name)), Buffer.from([0xc3, 0xa9])]); // the same, read latin1, written UTF-8

    it('a #! interpreter whose path is not UTF-8 runs', () => {
      fs.copyFileSync('/bin/sh', latin1('sh-caf'));
      write('to-latin1', Buffer.concat([Buffer.from('#!'), latin1('sh-caf'), Buffer.from('\ntouch "$(dirname "$0")/ran"\n')]), 0o755);
      const r = stepdown(subject, ['nobody', file('to-latin1')]);
      expect([r.status, r.stderr]).toEqual([0, '']);
      expect(fs.existsSync(marker)).toBe(true);
      fs.rmSync(marker);
    });

    it('a missing non-UTF-8 interpreter whose mojibake twin exists: 127, the path escaped (no Node abort)', () => {
      fs.copyFileSync('/bin/sh', mojibake('twin'));
      write('to-twin', Buffer.concat([Buffer.from('#!'), latin1('twin'), Buffer.from('\ntouch ran\n')]), 0o755);
      const r = stepdown(subject, ['nobody', file('to-twin')]);
      expectRefusal(r, 127, /to-twin: its '#!' interpreter \S+\/twin\\xe9 does not exist$/m);
    });

    it('a PT_INTERP that is not UTF-8 and missing, with its mojibake twin present: 127', () => {
      const elf = fs.readFileSync('/bin/true');
      const at = elf.indexOf(LOADER);
      const odd = Buffer.from(elf);
      odd.write('/mnt/ld-linux-x86-64.so.2-\xe9', at, 'latin1'); // same length as the real loader's path
      write('elf-latin1', odd, 0o755);
      const r = stepdown(subject, ['nobody', file('elf-latin1')], { setup: `mount -t tmpfs none /mnt && cp ${LOADER} '/mnt/ld-linux-x86-64.so.2-'$(printf '\\303\\251')` });
      expectRefusal(r, 127, /elf-latin1: its ELF interpreter \(dynamic loader\) \/mnt\/ld-linux-x86-64\.so\.2-\\xe9 does not exist/);
    });
  });

  describe('offsets in an ELF header past the file (or past 2^53): 126 with the kernel\'s EIO', () => {
    const spoiled = (name: string, spoil: (b: Buffer, phoff: number) => void) => {
      const elf = Buffer.from(fs.readFileSync('/bin/true'));
      spoil(elf, Number(elf.readBigUInt64LE(0x20)));
      write(name, elf, 0o755);
      return file(name);
    };
    const interpHeader = (b: Buffer, phoff: number) => {
      for (let i = 0; i < b.readUInt16LE(0x38); i++) if (b.readUInt32LE(phoff + i * 56) === 3) return phoff + i * 56;
      throw new Error('no PT_INTERP');
    };
    it.each([
      ['e_phoff 2^64-256', (b: Buffer) => b.writeBigUInt64LE(0xffffffffffffff00n, 0x20), /program headers do \(EIO\)$/m],
      ['e_phoff 2^40', (b: Buffer) => b.writeBigUInt64LE(1n << 40n, 0x20), /program headers do \(EIO\)$/m],
      ['PT_INTERP p_offset 2^64-16', (b: Buffer, phoff: number) => b.writeBigUInt64LE(0xfffffffffffffff0n, interpHeader(b, phoff) + 8), /interpreter path does \(EIO\)$/m],
    ])('%s', (what, spoil, message) => {
      const r = stepdown(subject, ['nobody', spoiled(`big-${what.replace(/\W/g, '')}`, spoil)]);
      expectRefusal(r, 126, message);
    });
  });

  describe('paths the kernel refuses with ELOOP, ENOTDIR, ENAMETOOLONG: 126 with the errno in words, like the shells', () => {
    it.each([
      ['a symlink loop', () => { fs.symlinkSync('loop2', file('loop1')); fs.symlinkSync('loop1', file('loop2')); return file('loop1'); }, /loop1: too many levels of symbolic links \(ELOOP\)$/m],
      ['a trailing slash after a file', () => '/bin/true/', /^stepdown: \/bin\/true\/: not a directory \(ENOTDIR\)/],
      ['a file used as a directory', () => '/bin/true/x', /^stepdown: \/bin\/true\/x: not a directory \(ENOTDIR\)/],
      ['a path over 4096 bytes', () => '/' + 'a/'.repeat(2100) + 'x', /: file name too long \(ENAMETOOLONG\)$/m],
    ])('%s', (_what, make, message) => {
      expectRefusal(stepdown(subject, ['nobody', make()]), 126, message);
    });

    it("a bare '#!' names no interpreter: 126", () => {
      write('bare', '#!', 0o755);
      expectRefusal(stepdown(subject, ['nobody', file('bare')]), 126, /bare: exec format error: its '#!' line names no interpreter$/m);
    });
  });

  it('a PATH entry through a symlink and .. is resolved by the kernel, as execvp does (never path.join)', () => {
    fs.mkdirSync(file('real/sub'), { recursive: true });
    fs.symlinkSync('real/sub', file('lnk'));
    write('real/prog', '#!/bin/sh\necho real\n', 0o755);
    write('prog', '#!/bin/sh\necho lexical\n', 0o755);
    const r = stepdown(subject, ['nobody', 'prog'], { env: { PATH: `${file('lnk')}/..:${BASE_PATH}` } });
    expect([r.status, r.stderr, r.stdout]).toEqual([0, '', 'real\n']);
  });

  it('five nested #! levels run, as the target', () => {
    const r = stepdown(subject, ['nobody', file('s5')]);
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(fs.statSync(marker).uid).toBe(65534);
    fs.rmSync(marker);
  });

  it('an execute-only (0711) program that is fine runs', () => {
    write('true-xo', fs.readFileSync('/bin/true'), 0o711);
    expect(stepdown(subject, ['nobody', file('true-xo')])).toMatchObject({ status: 0, stderr: '' });
  });

  it('an x86-64 ELF whose class byte says 32-bit runs: the kernel reads the header by machine', () => {
    const odd = fs.readFileSync('/bin/true');
    odd[4] = 1;
    write('class-byte', odd, 0o755);
    expect(stepdown(subject, ['nobody', file('class-byte')])).toMatchObject({ status: 0, stderr: '' });
  });

  it.skipIf(!haveCc)('a 32-bit i386 ELF runs (IA32 emulation)', () => {
    fs.writeFileSync(file('i386.c'), 'void _start(void){__asm__ volatile("movl $1,%%eax; movl $7,%%ebx; int $0x80":::"eax","ebx");}\n');
    const cc = spawnSync('cc', ['-m32', '-nostdlib', '-static', '-o', file('i386'), file('i386.c')]);
    if (cc.status !== 0) return; // no 32-bit toolchain here
    expect(stepdown(subject, ['nobody', file('i386')])).toMatchObject({ status: 7, stderr: '' });
  });

  it('a CRLF script: the \\r is shown escaped, not sent to the terminal', () => {
    const r = stepdown(subject, ['nobody', file('crlf')]);
    expectRefusal(r, 127, /crlf: its '#!' interpreter \/bin\/sh\\r does not exist$/m);
    expect(r.stderr).not.toContain('\r');
  });

  it('control characters in a user-spec or command name are escaped: still one line', () => {
    expectRefusal(stepdown(subject, ['ops\n', '/bin/true']), 125, /user-spec 'ops\\n'/);
    const r = stepdown(subject, ['nobody', '\x1b[31mred\x9b']);
    expectRefusal(r, 127, /command '\\e\[31mred\\x9b' not found/);
    expect(r.stderr).not.toMatch(/[\x1b\x9b]/);
  });

  describe('E2BIG, decided before exec', () => {
    const stack = Number(/^Max stack size\s+(\d+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? 8 * 1024 * 1024);
    const space = Math.max(Math.min(6 * 1024 * 1024, Math.floor(stack / 4)), 128 * 1024);
    const withHome = (home: string) => ({ passwd: LAB_PASSWD.replace(/^nobody:.*$/m, `nobody:x:65534:65534:nobody:${home}:/usr/sbin/nologin`), group: LAB_GROUP });

    it('one environment string over 128 KiB (a 200 KB HOME from /etc/passwd)', () => {
      const r = stepdown(subject, ['nobody', '/usr/bin/touch', marker], withHome('/' + 'h'.repeat(200_000)));
      expectRefusal(r, 126, /touch: argument list too long: environment variable HOME is 200007 bytes, Linux takes at most 131072 per string \(E2BIG\)/);
      expect(fs.existsSync(marker)).toBe(false);
    });

    it('many small arguments that fit stepdown but not the command once HOME is added', () => {
      const n = Math.floor((space - 60_000) / (100 + 1 + 8));
      const args = Array.from({ length: n }, () => 'a'.repeat(100));
      const r = stepdown(subject, ['nobody', '/usr/bin/touch', marker, ...args], withHome('/' + 'h'.repeat(100_000)));
      expectRefusal(r, 126, new RegExp(`touch: argument list too long: ${n + 2} arguments and \\d+ environment variables take \\d+ bytes, Linux takes at most ${space}`));
      expect(fs.existsSync(marker)).toBe(false);
    });
  });

  it.skipIf(subject.name === 'npm package')('E2BIG to the byte: the resolved file name, HOME and every pointer counted as the kernel does', () => {
    // The command is found through a long PATH directory: execve copies that full name, not the
    // typed `t`, and stepdown adds HOME. Filler variables bring the total to the kernel's limit
    // exactly, then one byte over. (The npm entry's own exec of Node, with the hand-over, is
    // bigger than the command's: it can never get this close.)
    const stack = Number(/^Max stack size\s+(\d+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? 8 * 1024 * 1024);
    const space = Math.max(Math.min(6 * 1024 * 1024, Math.floor(stack / 4)), 128 * 1024);
    const bin = file('d'.repeat(200));
    fs.mkdirSync(bin, { mode: 0o755 });
    fs.copyFileSync('/usr/bin/true', path.join(bin, 't'));
    fs.chmodSync(path.join(bin, 't'), 0o755);
    const envOf = (total: number) => {
      const env: Record<string, string> = { PATH: bin };
      const fixed = `${bin}/t`.length + 1 + 't'.length + 1 + `PATH=${bin}`.length + 1 + 'HOME=/nonexistent'.length + 1;
      let left = total - fixed;
      for (let i = 0; ; i++) {
        const name = `F${String(i).padStart(2, '0')}`;
        left -= 8; // this variable's pointer
        const value = Math.min(120_000, left - name.length - 2);
        env[name] = 'x'.repeat(value);
        left -= name.length + 2 + value;
        if (left <= 0) break;
      }
      return env;
    };
    // pointers: argv[0] + PATH + HOME, the fillers' counted as they are added
    // too big for the command line of the harness's `env -i`: read from a file by the wrapper
    const run = (env: Record<string, string>) => {
      const envFile = file('environ');
      fs.writeFileSync(envFile, Object.entries(env).map(([k, v]) => `${k}=${v}\0`).join(''));
      const wrapper = ['/usr/bin/python3', '-c', `import os, sys\nents = open(${JSON.stringify(envFile)}, 'rb').read().split(b'\\0')[:-1]\nos.execve(sys.argv[1], sys.argv[1:], dict(e.split(b'=', 1) for e in ents))`];
      return stepdown(subject, ['nobody', 't'], { wrapper });
    };
    const atLimit = run(envOf(space - 3 * 8));
    expect([atLimit.status, atLimit.stderr]).toEqual([0, '']);
    const over = run(envOf(space - 3 * 8 + 1));
    expectRefusal(over, 126, new RegExp(`/t: argument list too long: 1 arguments and \\d+ environment variables take ${space + 1} bytes, Linux takes at most ${space} `));
  });

  it('a user in more groups than NGROUPS_MAX (65536): refused before any change, saying why', () => {
    const lines = Array.from({ length: 65_537 }, (_, i) => `g${i}:x:${100_000 + i}:nobody`);
    const r = stepdown(subject, ['nobody', '/usr/bin/touch', marker], { group: `${LAB_GROUP}${lines.join('\n')}\n` });
    expectRefusal(r, 125, /user 'nobody' is in 65\d{3} groups, more than the 65536 supplementary groups Linux allows \(NGROUPS_MAX\); .*nobody:group/);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('with --match, too many groups is refused before the remap writes anything', () => {
    const etc = tempDir();
    const vol = tempDir();
    try {
      fs.chownSync(vol, 4321, 4321);
      const lines = Array.from({ length: 65_537 }, (_, i) => `g${i}:x:${100_000 + i}:ops`);
      const passwd = 'root:x:0:0:root:/root:/bin/sh\nops:x:1000:1000::/nonexistent:/bin/sh\n';
      const group = `root:x:0:\nops:x:1000:\n${lines.join('\n')}\n`;
      fs.writeFileSync(path.join(etc, 'passwd'), passwd);
      fs.writeFileSync(path.join(etc, 'group'), group);
      const r = stepdown(subject, ['--match', vol, 'ops', '/usr/bin/touch', marker], { etcDir: etc });
      expectRefusal(r, 125, /user 'ops' is in 65538 groups, more than the 65536/);
      expect(fs.readFileSync(path.join(etc, 'passwd'), 'utf8')).toBe(passwd);
      expect(fs.readFileSync(path.join(etc, 'group'), 'utf8')).toBe(group);
      expect(fs.existsSync(marker)).toBe(false);
    } finally {
      fs.rmSync(etc, { recursive: true, force: true });
      fs.rmSync(vol, { recursive: true, force: true });
    }
  });

  describe('stderr nobody reads: messages are best-effort, the outcome is the same', () => {
    // stderr closed (EBADF), or a pipe whose reader is gone (EPIPE)
    const closed = ['sh', '-c', 'exec "$@" 2>&-', 'sh'];
    const broken = ['perl', '-e', 'pipe(R, W) or die; close R; open(STDERR, ">&", \\*W) or die; exec @ARGV or die', '--'];
    const full = ['sh', '-c', 'exec "$@" 2>/dev/full', 'sh'];

    it.each([['closed', closed], ['a broken pipe', broken]])('stderr %s: --match with a notice still runs the command', (_what, wrapper) => {
      const vol = tempDir();
      try {
        const r = stepdown(subject, ['--match', vol, 'nobody', '/bin/sh', '-c', 'echo ran; exit 3'], { wrapper });
        expect([r.status, r.stdout]).toEqual([3, 'ran\n']);
      } finally {
        fs.rmSync(vol, { recursive: true, force: true });
      }
    });

    it.each([['closed', closed], ['a broken pipe', broken], ['full (/dev/full)', full]])('stderr %s: a refusal keeps its exit code', (_what, wrapper) => {
      expect(stepdown(subject, ['nobody', file('garbage')], { wrapper }).status).toBe(126);
      expect(stepdown(subject, ['nobody', 'no-such-command'], { wrapper }).status).toBe(127);
      expect(stepdown(subject, ['bogus-user', '/bin/true'], { wrapper }).status).toBe(125);
    });
  });

  describe('stdout nobody can write to: --version, --help, --check and --audit fail with one line, 125', () => {
    const fullOut = ['sh', '-c', 'exec "$@" >/dev/full', 'sh'];
    const brokenOut = ['perl', '-e', 'pipe(R, W) or die; close R; open(STDOUT, ">&", \\*W) or die; exec @ARGV or die', '--'];
    it.each([['full (/dev/full)', fullOut, 'ENOSPC'], ['a broken pipe', brokenOut, 'EPIPE']])('stdout %s', (_what, wrapper, code) => {
      for (const args of [['--version'], ['--help'], ['--check', 'nobody'], ['--audit'], ['--audit', '--json']]) {
        const r = stepdown(subject, args, { wrapper });
        expect([r.status, r.stderr]).toEqual([125, `stepdown: cannot write to standard output (${code})\n`]);
      }
    });
  });
});
