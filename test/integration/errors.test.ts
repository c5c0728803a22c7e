// Every way stepdown can refuse: the documented exit code, one `stepdown: …` line, and proof
// that the command did not run at all (it would have created a marker file).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_PATH, IS_ROOT, NODE24, REPO, type Subject, stepdown, subjects, tempDir } from '../helpers/harness.js';

function expectRefusal(r: { status: number | null; stderr: string; stdout: string }, code: number, message: RegExp) {
  expect(r.status).toBe(code);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^stepdown: [^\n]+\n$/); // exactly one line
  expect(r.stderr).toMatch(message);
}

describe.skipIf(!IS_ROOT).each(subjects())('refusals ($name)', (subject: Subject) => {
  let dir: string;
  let marker: string;
  const touch = () => ['/usr/bin/touch', marker];

  beforeAll(() => {
    dir = tempDir();
    marker = path.join(dir, 'ran');
    fs.chmodSync(dir, 0o777);
    const write = (name: string, content: string | Buffer, mode: number) => fs.writeFileSync(path.join(dir, name), content, { mode });
    write('noexec', '#!/bin/sh\ntouch ran\n', 0o644);
    write('noshebang', 'touch ran\n', 0o755);
    write('badinterp', '#!/nonexistent/python3\n', 0o755);
    write('rootonly', '#!/bin/sh\ntouch ran\n', 0o700);
    fs.mkdirSync(path.join(dir, 'adir'));
    fs.mkdirSync(path.join(dir, 'rel'));
    write('rel/mine', '#!/bin/sh\ntouch ran\n', 0o755);
    // an ELF whose dynamic loader does not exist (what a musl binary looks like on glibc)
    const elf = fs.readFileSync('/bin/true');
    const at = elf.indexOf('/lib64/ld-linux-x86-64.so.2');
    expect(at).toBeGreaterThan(0);
    elf.write('/lib64/ld-nonexist-x64.so.2', at, 'latin1'); // same length
    write('muslish', elf, 0o755);
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const cases: [string, () => string[], number, RegExp, Record<string, string>?, string?][] = [
    ['unknown user', () => ['bogus', ...touch()], 125, /unknown user 'bogus'/],
    ['name starting with a digit', () => ['0day', ...touch()], 125, /unknown user '0day'/],
    ['unknown group', () => ['0:bogus', ...touch()], 125, /unknown group 'bogus'/],
    ['uid without passwd entry or group', () => ['4242', ...touch()], 125, /uid 4242 has no entry.*'4242:4242'/],
    ['+0', () => ['+0', ...touch()], 125, /'\+0' is neither/],
    ['-1', () => ['-1', ...touch()], 125, /'-1' is neither a user name nor a decimal id/],
    ['a:b:c', () => ['ops:ops:junk', ...touch()], 125, /more than one ':'/],
    ['empty group part', () => ['0:', ...touch()], 125, /group after ':' is empty/],
    ['empty spec', () => ['', ...touch()], 125, /empty user-spec/],
    ['no command', () => ['nobody'], 125, /no command given after 'nobody'/],
    ['unknown option', () => ['--frobnicate', 'nobody', ...touch()], 125, /unknown option '--frobnicate'/],
    ['not found in PATH', () => ['nobody', 'no-such-command'], 127, /command 'no-such-command' not found in PATH/],
    ['absolute path missing', () => ['nobody', '/nope/abs'], 127, /\/nope\/abs: no such file/],
    ['not executable', () => ['nobody', path.join(dir, 'noexec')], 126, /noexec: permission denied/],
    ['a directory', () => ['nobody', path.join(dir, 'adir')], 126, /is a directory/],
    ['no #! line', () => ['nobody', path.join(dir, 'noshebang')], 126, /exec format error/],
    ['missing #! interpreter', () => ['nobody', path.join(dir, 'badinterp')], 127, /interpreter \/nonexistent\/python3 does not exist/],
    ['missing ELF loader', () => ['nobody', path.join(dir, 'muslish')], 127, /ELF interpreter.*ld-nonexist-x64.so.2 does not exist/],
    ['executable by root only: checked as the target', () => ['nobody', path.join(dir, 'rootonly')], 126, /rootonly: permission denied: uid 65534/],
    ['relative PATH entry', () => ['nobody', 'mine'], 127, /relative PATH entry 'rel'/, { PATH: `rel:${BASE_PATH}` }],
    ['empty PATH entry', () => ['nobody', 'mine'], 127, /an empty PATH entry/, { PATH: `:${BASE_PATH}` }, 'rel'],
  ];

  it.each(cases)('%s', (_what, args, code, message, env, cwd) => {
    const r = stepdown(subject, args(), { cwd: path.join(dir, cwd ?? ''), ...(env ? { env } : {}) });
    expectRefusal(r, code, message);
    expect(fs.existsSync(marker)).toBe(false);
    expect(fs.existsSync(path.join(dir, 'rel/ran'))).toBe(false);
  });

  it('an ELF for another CPU with binfmt_misc visible but no handler: 126 instead of Node aborting', () => {
    const foreign = path.join(REPO, process.arch === 'arm64' ? 'dist/stepdown-linux-x64' : 'dist/stepdown-linux-arm64');
    expect(fs.existsSync(foreign)).toBe(true); // built by npm run build:bin
    const r = stepdown(subject, ['nobody', foreign, '--version'], {
      wrapper: ['sh', '-c', 'mount -t binfmt_misc none /proc/sys/fs/binfmt_misc && exec "$@"', 'sh'],
    });
    expectRefusal(r, 126, /exec format error: built for (aarch64|x86-64), this machine runs (x86-64|aarch64), and no binfmt_misc handler runs it/);
  });

  it('root without CAP_SETUID: names the capability, runs nothing', () => {
    const r = stepdown(subject, ['nobody', ...touch()], { wrapper: ['setpriv', '--bounding-set=-setuid', '--'] });
    expectRefusal(r, 125, /running as root without CAP_SETUID.*--cap-add SETUID/);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('another non-root user: refuses, naming both identities', () => {
    const r = stepdown(subject, ['daemon', ...touch()], { wrapper: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'] });
    expectRefusal(r, 125, /running as uid 65534 gid 65534, not root, so cannot become uid 1 gid 1/);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('refuses to run from an executable with the setuid bit', () => {
    const copy = path.join(dir, 'suid-exe');
    fs.copyFileSync(subject.exe, copy);
    fs.chmodSync(copy, 0o4755);
    try {
      const r = stepdown({ ...subject, argv: subject.viaExe(copy) }, ['nobody', ...touch()]);
      expectRefusal(r, 125, /has the setuid bit set; that is unsafe/);
      expect(fs.existsSync(marker)).toBe(false);
    } finally {
      fs.rmSync(copy);
    }
  });

  // a tmpfs over /etc gives this run an /etc of its own to break
  const ownEtc = (setup: string) => ['sh', '-c', `mount -t tmpfs none /etc && ${setup} && exec "$@"`, 'sh'];

  it('an unreadable /etc/passwd is an error, not an empty database', () => {
    const r = stepdown(subject, ['1000:1000', ...touch()], { wrapper: ownEtc('mkdir /etc/passwd') });
    expectRefusal(r, 125, /cannot read \/etc\/passwd: EISDIR/);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('a missing /etc/passwd is an empty one: numeric ids work, names are unknown', () => {
    const ok = stepdown(subject, ['1000:1000', '/usr/bin/id', '-u'], { wrapper: ownEtc('true') });
    expect([ok.status, ok.stdout, ok.stderr]).toEqual([0, '1000\n', '']);
    expectRefusal(stepdown(subject, ['nobody', ...touch()], { wrapper: ownEtc('true') }), 125, /unknown user 'nobody'/);
  });

  it('uses the Node 24 it was built for', () => {
    expect(fs.existsSync(NODE24)).toBe(true);
  });
});
