// What the x64 single executable needs from the image, proven in bare chroots:
//   - glibc chroot: exactly the 7 libraries below (every one is needed, nothing else is),
//     /etc/passwd, /etc/group and a mounted /proc; the target is busybox-static.
//   - musl-only chroot (Alpine-like: ld-musl + busybox-static): the executable cannot start.
// Each run happens in a new mount+PID namespace with /proc mounted inside the chroot, as in a
// container. Needs root, `npm run build:bin` and test/sea/setup-arm64.sh (busybox-static, musl).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '../..');
const X64 = join(ROOT, 'dist', 'stepdown-linux-x64');
const BUSYBOX = '/bin/busybox';
const MUSL_LD = '/lib/ld-musl-x86_64.so.1';
const SETUP = 'run test/sea/setup-arm64.sh';

/** What `ldd dist/stepdown-linux-x64` lists on Debian 12 (besides linux-vdso). The README quotes it. */
const EXPECTED_LIBS = [
  '/lib/x86_64-linux-gnu/libc.so.6',
  '/lib/x86_64-linux-gnu/libdl.so.2',
  '/lib/x86_64-linux-gnu/libgcc_s.so.1',
  '/lib/x86_64-linux-gnu/libm.so.6',
  '/lib/x86_64-linux-gnu/libpthread.so.0',
  '/lib/x86_64-linux-gnu/libstdc++.so.6',
  '/lib64/ld-linux-x86-64.so.2',
];

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const GROUP = 'root:x:0:\nnogroup:x:65534:\n';

function requireFile(file: string, hint: string): void {
  expect(existsSync(file), `${file} is missing: ${hint}`).toBe(true);
}

/** The libraries ldd resolves for `file`, as absolute paths, sorted. */
function lddLibs(file: string): string[] {
  const r = spawnSync('ldd', [file], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' } });
  expect(r.status, r.stderr).toBe(0);
  const libs: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^\s*(?:\S+ => )?(\/\S+) \(0x[0-9a-f]+\)$/.exec(line);
    if (m?.[1]) libs.push(m[1]);
    else if (line.trim() && !line.includes('linux-vdso')) throw new Error(`unexpected ldd line: ${line}`);
  }
  return libs.sort();
}

/** A chroot with /stepdown, busybox as /bin/{busybox,id,sh}, passwd/group, /proc and `files`. */
function makeRoot(dir: string, files: string[]): void {
  for (const d of ['bin', 'etc', 'proc']) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync(X64, join(dir, 'stepdown'));
  copyFileSync(BUSYBOX, join(dir, 'bin', 'busybox'));
  symlinkSync('busybox', join(dir, 'bin', 'id'));
  symlinkSync('busybox', join(dir, 'bin', 'sh'));
  writeFileSync(join(dir, 'etc', 'passwd'), PASSWD);
  writeFileSync(join(dir, 'etc', 'group'), GROUP);
  for (const f of files) {
    mkdirSync(join(dir, dirname(f)), { recursive: true });
    copyFileSync(f, join(dir, f)); // follows symlinks: the chroot gets the real file
  }
}

/** Run `args` chrooted into `dir`, in new mount and PID namespaces with /proc mounted. */
function inRoot(dir: string, args: string[]) {
  return spawnSync(
    'unshare',
    ['--mount', '--pid', '--fork', `--mount-proc=${join(dir, 'proc')}`, 'chroot', dir, ...args],
    { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' }, timeout: 60_000 },
  );
}

const ID_NOBODY = /^uid=65534\(nobody\) gid=65534\(nogroup\) groups=65534\(nogroup\)\n$/;

describe('x64 single executable in bare chroots', () => {
  let tmp = '';
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'stepdown-sea-chroot-'));
  });
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  function preconditions(): void {
    expect(process.getuid?.(), 'chroot needs root').toBe(0);
    requireFile(X64, 'run npm run build:bin');
    requireFile(BUSYBOX, `${SETUP} (busybox-static)`);
  }

  it('ldd lists exactly the expected glibc libraries', () => {
    preconditions();
    expect(lddLibs(X64)).toEqual(EXPECTED_LIBS);
  });

  it('runs with only those libraries and drops to nobody; each one of them is needed', () => {
    preconditions();
    const dir = join(tmp, 'glibc');
    makeRoot(dir, EXPECTED_LIBS);

    const control = inRoot(dir, ['/bin/id']);
    expect(control.stdout, control.stderr).toMatch(/^uid=0\(root\) gid=0\(root\)/);

    const r = inRoot(dir, ['/stepdown', 'nobody', '--', '/bin/id']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(ID_NOBODY);

    for (const lib of EXPECTED_LIBS) {
      const path = join(dir, lib);
      renameSync(path, `${path}.away`);
      try {
        const without = inRoot(dir, ['/stepdown', 'nobody', '--', '/bin/id']);
        expect(without.status, `without ${lib}`).toBe(127);
        expect(without.stdout).toBe('');
        expect(without.stderr).toContain(
          lib.includes('/ld-linux')
            ? "chroot: failed to run command '/stepdown': No such file or directory"
            : `/stepdown: error while loading shared libraries: ${basename(lib)}: cannot open shared object file`,
        );
      } finally {
        renameSync(`${path}.away`, path);
      }
    }
  });

  // The README quotes these messages: on musl (Alpine) the glibc executable cannot start because
  // its interpreter /lib64/ld-linux-x86-64.so.2 is missing; use the npm package with the image's Node.
  it('cannot start in a musl-only chroot (ld-musl + busybox-static)', () => {
    preconditions();
    requireFile(MUSL_LD, `${SETUP} (musl)`);
    const dir = join(tmp, 'musl');
    makeRoot(dir, [MUSL_LD]);

    const control = inRoot(dir, ['/bin/id']);
    expect(control.stdout, control.stderr).toMatch(/^uid=0\(root\) gid=0\(root\)/);

    const direct = inRoot(dir, ['/stepdown', 'nobody', '--', '/bin/id']);
    expect(direct.status).toBe(127);
    expect(direct.stdout).toBe('');
    expect(direct.stderr).toBe("chroot: failed to run command '/stepdown': No such file or directory\n");

    const viaShell = inRoot(dir, ['/bin/sh', '-c', '/stepdown nobody -- /bin/id']);
    expect(viaShell.status).toBe(127);
    expect(viaShell.stdout).toBe('');
    expect(viaShell.stderr).toBe('/bin/sh: /stepdown: not found\n');
  });
});
