// The built single executables: architecture, --version, a real drop on x64 and, for arm64,
// under qemu-user. Needs `npm run build:bin` and test/sea/setup-arm64.sh (qemu-user and the
// arm64 libc6/libstdc++6/libgcc-s1); runs as root.
import { spawnSync } from 'node:child_process';
import { existsSync, openSync, readFileSync, readSync, closeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '../..');
const X64 = join(ROOT, 'dist', 'stepdown-linux-x64');
const ARM64 = join(ROOT, 'dist', 'stepdown-linux-arm64');
const VERSION: string = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
const NODE = 'node v24.21.0';
const QEMU = '/usr/bin/qemu-aarch64';
const SETUP = 'run test/sea/setup-arm64.sh';

function requireFile(file: string, hint: string): void {
  expect(existsSync(file), `${file} is missing: ${hint}`).toBe(true);
}

/** ELF e_machine of a file (62 = x86-64, 183 = AArch64). */
function elfMachine(file: string): number {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(20);
    readSync(fd, head, 0, 20, 0);
    expect(head.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    return head.readUInt16LE(18);
  } finally {
    closeSync(fd);
  }
}

function run(cmd: string, args: string[]) {
  return spawnSync(cmd, args, { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' }, timeout: 60_000 });
}

/** Checks `id` output: uid, gid and the only group are 65534. */
function expectNobody(stdout: string): void {
  expect(stdout).toMatch(/^uid=65534\([^)]*\) gid=65534\([^)]*\) groups=65534\([^)]*\)\n$/);
}

describe('x64 single executable', () => {
  it('is an x86-64 ELF', () => {
    requireFile(X64, 'run npm run build:bin');
    expect(elfMachine(X64)).toBe(62);
  });

  it('--version names the package version and Node 24.21.0', () => {
    requireFile(X64, 'run npm run build:bin');
    const r = run(X64, ['--version']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`stepdown ${VERSION}`);
    expect(r.stdout).toContain(NODE);
  });

  it('drops to nobody and runs id', () => {
    requireFile(X64, 'run npm run build:bin');
    expect(process.getuid?.(), 'these tests run as root').toBe(0);
    const r = run(X64, ['nobody', '--', '/usr/bin/id']);
    expect(r.status, r.stderr).toBe(0);
    expectNobody(r.stdout);
  });
});

describe('arm64 single executable (qemu-user)', () => {
  it('is an AArch64 ELF', () => {
    requireFile(ARM64, 'run npm run build:bin');
    expect(elfMachine(ARM64)).toBe(183);
  });

  it('--version under qemu-aarch64 names Node 24.21.0', () => {
    requireFile(ARM64, 'run npm run build:bin');
    requireFile(QEMU, SETUP);
    requireFile('/lib/ld-linux-aarch64.so.1', SETUP);
    const r = run(QEMU, ['-L', '/', ARM64, '--version']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`stepdown ${VERSION}`);
    expect(r.stdout).toContain(NODE);
  });

  // qemu-user emulates the arm64 stepdown (lookup, setgroups/setgid/setuid, execve). Its execve
  // goes straight to the host kernel, so the target must be a host (x86-64) binary: an arm64
  // target would fail with ENOEXEC unless binfmt_misc is set up for qemu.
  it('drops to nobody and execs /usr/bin/id', () => {
    requireFile(ARM64, 'run npm run build:bin');
    requireFile(QEMU, SETUP);
    expect(process.getuid?.(), 'these tests run as root').toBe(0);
    const r = run(QEMU, ['-L', '/', ARM64, 'nobody', '--', '/usr/bin/id']);
    expect(r.status, r.stderr).toBe(0);
    expectNobody(r.stdout);
  });
});
