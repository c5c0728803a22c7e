// Interrupting a remap: SIGTERM (a `docker stop` while stepdown is still PID 1) and SIGKILL at
// random moments. After every interruption /etc/passwd and /etc/group are each either the old
// or the new bytes, and the next start finishes the job.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE_PATH, IS_ROOT, type Subject, runWithEtc, stepdown, subjects, tempDir } from '../helpers/harness.js';

const FILES = 150_000; // a walk of well over a second
const OLD_PASSWD = (home: string) => `root:x:0:0:root:/root:/bin/bash\nops:x:10001:10001::${home}:/bin/sh\nbuddy:x:10002:10001::/:/bin/sh\n`;
const OLD_GROUP = 'root:x:0:\nops:x:10001:\n';
const NEW_PASSWD = (home: string) => OLD_PASSWD(home).replace('ops:x:10001:10001:', 'ops:x:4321:4321:').replace('buddy:x:10002:10001:', 'buddy:x:10002:4321:');
const NEW_GROUP = OLD_GROUP.replace('ops:x:10001:', 'ops:x:4321:');

describe.skipIf(!IS_ROOT).each(subjects())('interrupted remap ($name)', (subject: Subject) => {
  let dir: string, etc: string, vol: string, home: string;

  beforeAll(() => {
    dir = tempDir();
    etc = path.join(dir, 'etc');
    vol = path.join(dir, 'vol');
    home = path.join(dir, 'home');
    fs.mkdirSync(etc);
    fs.mkdirSync(vol);
    fs.chownSync(vol, 4321, 4321);
    for (let d = 0; d < FILES / 500; d++) {
      const sub = path.join(home, `d${d}`);
      fs.mkdirSync(sub, { recursive: true });
      for (let f = 0; f < 500; f++) fs.writeFileSync(path.join(sub, `f${f}`), '');
    }
  }, 120_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function reset() {
    fs.writeFileSync(path.join(etc, 'passwd'), OLD_PASSWD(home));
    fs.writeFileSync(path.join(etc, 'group'), OLD_GROUP);
    expect(spawnSync('chown', ['-R', '10001:10001', home]).status).toBe(0);
  }

  function start() {
    const child = spawn('unshare', ['--mount', 'sh', '-c', 'mount --bind "$1" /etc && mount -t tmpfs -o mode=0700 stepdown-test /root && mount -t tmpfs stepdown-test /home && shift && exec "$@"', 'sh', etc, ...subject.argv, '--match', vol, 'ops', 'true'], {
      env: { PATH: BASE_PATH },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
    );
    return { child, done, stderr: () => stderr };
  }

  const files = () => [fs.readFileSync(path.join(etc, 'passwd'), 'utf8'), fs.readFileSync(path.join(etc, 'group'), 'utf8')];
  const finishes = () => {
    const r = stepdown(subject, ['-q', '--match', vol, 'ops', '--', 'id', '-u'], { etcDir: etc });
    expect([r.status, r.stdout, r.stderr]).toEqual([0, '4321\n', '']);
    expect(files()).toEqual([NEW_PASSWD(home), NEW_GROUP]);
    const left = spawnSync('find', [home, '-uid', '10001', '-o', '-gid', '10001'], { encoding: 'utf8' }).stdout;
    expect(left).toBe('');
  };

  it('SIGTERM during the walk stops it within a second: exit 143, /etc untouched, command not run; the next start finishes', async () => {
    reset();
    const run = start();
    // wait until the walk has begun: the home's first entries change owner
    const t0 = Date.now();
    while (fs.lstatSync(home).uid === 10001 && Date.now() - t0 < 15_000) await new Promise((r) => setTimeout(r, 5));
    const sent = Date.now();
    run.child.kill('SIGTERM');
    const { code, at } = await run.done;
    expect(code).toBe(143);
    expect(at - sent).toBeLessThan(1000);
    expect(run.stderr()).toMatch(/^stepdown: stopped by SIGTERM while re-owning files; \/etc\/passwd and \/etc\/group are unchanged and the next start finishes the job; the command was not run\n$/);
    expect(files()).toEqual([OLD_PASSWD(home), OLD_GROUP]);
    finishes();
  });

  it('on a terminal, a walk longer than the threshold shows progress, then the one-line summary', () => {
    reset();
    const cmd = [...subject.argv, '--match', vol, 'ops', 'true'].join(' ');
    // the threshold (a second) is set to 0 so that no machine is too fast for the test
    const r = runWithEtc(['script', '-qec', cmd, '/dev/null'], { etcDir: etc, env: { TERM: 'dumb', STEPDOWN_TEST_PROGRESS_AFTER_MS: '0' } });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\rstepdown: re-owning files: \d+ scanned, \d+ changed/);
    expect(r.stdout).toMatch(new RegExp(`\\r\\x1b\\[Kstepdown: ops is now uid 4321 gid 4321 \\(was 10001:10001\\); wrote /etc/group and /etc/passwd; re-owned ${FILES + FILES / 500 + 1} of ${FILES + FILES / 500 + 1} entries in ${home} \\((\\d+)\\.\\d s\\)\\r?\\n$`));
    expect(files()).toEqual([NEW_PASSWD(home), NEW_GROUP]);
  });

  it('SIGKILL at random moments, 12 times: the files are always old or new, and a re-run completes', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) {
      reset();
      const run = start();
      if (i % 3 === 0) {
        // once the walk has begun (the home, its first entry, changed owner): a kill during the
        // walk on any machine, however fast
        const t0 = Date.now();
        while (fs.lstatSync(home).uid === 10001 && Date.now() - t0 < 15_000) await new Promise((r) => setTimeout(r, 2));
      } else {
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 2500));
      }
      run.child.kill('SIGKILL');
      await run.done;
      const [passwd, group] = files();
      expect([OLD_PASSWD(home), NEW_PASSWD(home)]).toContain(passwd);
      expect([OLD_GROUP, NEW_GROUP]).toContain(group);
      seen.add(`${passwd === OLD_PASSWD(home) ? 'old' : 'new'}/${group === OLD_GROUP ? 'old' : 'new'}`);
      finishes();
      expect(fs.readdirSync(etc).sort()).toEqual(['group', 'passwd']); // a temp file a kill left is gone
    }
    expect(seen.has('old/old')).toBe(true); // killed during the walk at least once
  }, 120_000);
});
