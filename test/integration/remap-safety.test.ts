// Remap without harm, as root, each run in a private mount namespace with its own /etc, /home
// and /root: root's ids and group 0 are never changed, system ids are not adopted silently, a
// full disk / a second start / a symlinked or bind-mounted /etc file / a failed re-own never
// leave a cut, stale or half-written /etc, and every failure is one line with exit 125 and the
// command not run (it would create `ran` in the world's directory).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BASE_PATH, IS_ROOT, type RunOptions, type Subject, stepdown, subjects } from '../helpers/harness.js';
import { owner, startWithEtc, world } from '../helpers/remap-world.js';

describe.skipIf(!IS_ROOT).each(subjects())('remap safety ($name)', (subject: Subject) => {
  let w: ReturnType<typeof world>;
  beforeEach(() => {
    w = world();
  });
  const run = (args: string[], opts: RunOptions = {}) => stepdown(subject, args, { etcDir: w.etc, ...opts });
  const unchanged = () => w.etcUnchanged();
  const refused = (r: { status: number | null; stderr: string }, message: RegExp | string) => {
    expect(r.status).toBe(125);
    if (typeof message === 'string') expect(r.stderr).toBe(`stepdown: ${message}\n`);
    else expect(r.stderr).toMatch(message);
    expect(r.stderr.split('\n').length).toBe(2); // one line
    expect(w.ran()).toBe(false);
  };

  describe('identity safety', () => {
    it.each([['root'], ['root:root'], ['0:0'], ['0']])('%s with a remap: 125 before anything changes, /root untouched', (spec) => {
      const v = w.vol(2000, 2000);
      const r = run(['--match', v, spec, '--', ...w.cmd]);
      refused(r, `--match ${v} would remap root, which is uid 0: a remap never changes root's ids; name a non-root user, or unset STEPDOWN_MATCH for this command`);
      unchanged();
    });

    it('STEPDOWN_MATCH in the environment does not make `stepdown root` renumber root', () => {
      const r = run(['root', '--', ...w.cmd], { env: { STEPDOWN_MATCH: w.vol(2000, 2000) } });
      refused(r, /would remap root, which is uid 0/);
      unchanged();
    });

    it('a user whose primary gid is 0 (OpenShift): only the uid follows, group root is never renumbered, no file changes group 0', () => {
      const r = run(['--match', w.vol(4321, 4321), 'app', '--', ...w.cmd]);
      expect(r.stderr).toContain("stepdown: app's primary group is gid 0; it stays 0 and only the uid follows");
      expect([r.status, r.stdout]).toEqual([0, '4321:0:0\n']);
      expect(w.read('passwd')).toBe(w.passwd.replace('app:x:1001:0:', 'app:x:4321:0:'));
      expect(w.read('group')).toBe(w.group);
      expect(owner(path.join(w.dir, 'home/app/file'))).toBe('4321:0');
    });

    it.each([
      [1, 42, 'uid 1, which is the uid of daemon, which carries rights in the image'],
      [101, 4321, 'uid 101, which is the uid of messagebus, a system account below 1000'],
      [4321, 42, 'gid 42, which is group shadow, which carries rights in the image'],
      [4321, 4, 'gid 4, which is group adm, which carries rights in the image'],
      [4321, 1, 'gid 1, which is group daemon, which carries rights in the image'],
    ])('a volume owned by %i:%i is refused, naming the account and the fix', (uid, gid, what) => {
      const v = w.vol(uid, gid);
      refused(run(['--match', v, 'ops', '--', ...w.cmd]), `${v} is owned by ${what}: ops would get its rights; refusing. Give the volume an ordinary owner (chown), or pass --allow-system-ids (STEPDOWN_ALLOW_SYSTEM_IDS=1) to accept it`);
      unchanged();
      expect(owner(path.join(w.dir, 'home/ops/file'))).toBe('10001:10001');
    });

    it.each([
      ['group', 'shadow:x:42:', 'shadow:x: 42:', 4321, 42, 'gid 42, which is group shadow, which carries rights in the image'],
      ['group', 'shadow:x:42:', 'shadow:x:+0042:', 4321, 42, 'gid 42, which is group shadow, which carries rights in the image'],
      ['passwd', 'daemon:x:1:1:', 'daemon:x:\t01:1:', 1, 4321, 'uid 1, which is the uid of daemon, which carries rights in the image'],
    ])('an id spelled the way glibc also reads it (%s line %j as %j) is still that id to the system-id check', (file, from, to, uid, gid, what) => {
      const text = w.read(file).replace(from, to);
      fs.writeFileSync(path.join(w.etc, file), text);
      const v = w.vol(uid, gid);
      refused(run(['--match', v, 'ops', '--', ...w.cmd]), `${v} is owned by ${what}: ops would get its rights; refusing. Give the volume an ordinary owner (chown), or pass --allow-system-ids (STEPDOWN_ALLOW_SYSTEM_IDS=1) to accept it`);
      expect(w.read(file)).toBe(text);
      expect(owner(path.join(w.dir, 'home/ops/file'))).toBe('10001:10001');
    });

    it('a primary group that keeps its number (users, 100): only the user\'s own entries change group, never another account\'s', () => {
      const passwd = w.passwd.replace('ops:x:10001:10001:', 'ops:x:10001:100:');
      fs.writeFileSync(path.join(w.etc, 'passwd'), passwd);
      const home = path.join(w.dir, 'home/ops');
      fs.chownSync(path.join(home, 'file'), 10001, 100);
      fs.chownSync(home, 10001, 100);
      fs.writeFileSync(path.join(home, 'roots'), '');
      fs.chownSync(path.join(home, 'roots'), 0, 100); // another member's file (or a hard link the app planted)
      fs.writeFileSync(path.join(home, 'nodes'), '');
      fs.chownSync(path.join(home, 'nodes'), 1000, 100);
      const r = run(['-q', '--match', w.vol(4321, 4321), 'ops', '--', ...w.cmd]);
      expect([r.status, r.stdout, r.stderr]).toEqual([0, '4321:4321:4321\n', '']);
      expect(w.read('passwd')).toBe(passwd.replace('ops:x:10001:100:', 'ops:x:4321:4321:'));
      expect(w.read('group')).toBe(w.group);
      expect([home, path.join(home, 'file'), path.join(home, 'roots'), path.join(home, 'nodes')].map(owner)).toEqual(['4321:4321', '4321:4321', '0:100', '1000:100']);
    });

    it('a gid that only a system account\'s passwd line names (no group line) is refused too', () => {
      const passwd = w.passwd + 'backup:x:34:34:backup:/var/backups:/usr/sbin/nologin\n';
      fs.writeFileSync(path.join(w.etc, 'passwd'), passwd);
      const v = w.vol(4321, 34);
      refused(run(['--match', v, 'ops', '--', ...w.cmd]), `${v} is owned by gid 34, which is the primary gid of backup, which carries rights in the image: ops would get its rights; refusing. Give the volume an ordinary owner (chown), or pass --allow-system-ids (STEPDOWN_ALLOW_SYSTEM_IDS=1) to accept it`);
      expect(w.read('passwd')).toBe(passwd);
      expect(w.read('group')).toBe(w.group);
    });

    it('the opt-in (flag or environment) accepts a system id; uid 0 and gid 0 stay out of reach even then', () => {
      const r = run(['-q', '--allow-system-ids', '--match', w.vol(1, 42), 'ops', '--', ...w.cmd]);
      expect([r.status, r.stdout]).toEqual([0, '1:42:42\n']);
      w = world();
      const e = run(['-q', '--match', w.vol(1, 42), 'ops', '--', ...w.cmd], { env: { STEPDOWN_ALLOW_SYSTEM_IDS: '1' } });
      expect([e.status, e.stdout]).toEqual([0, '1:42:42\n']);
      w = world();
      refused(run(['--allow-system-ids', '--match', w.vol(2000, 2000), 'root', '--', ...w.cmd]), /would remap root/);
    });

    it.each([
      [33, 33, '33:33:33'], // www-data: a WordPress or Nextcloud data directory
      [1000, 100, '1000:100:100'], // the image's node user; group users (openSUSE's primary group)
      [4321, 4321, '4321:4321:4321'], // ids with no entry
    ])('ordinary ids keep working: %i:%i', (uid, gid, ids) => {
      const r = run(['-q', '--match', w.vol(uid, gid), 'ops', '--', ...w.cmd]);
      expect([r.status, r.stdout, r.stderr]).toEqual([0, `${ids}\n`, '']);
    });

    it('a numeric user-spec with --match is refused on the first start, naming the user to use', () => {
      refused(run(['--match', w.vol(4321, 4321), '10001', '--', ...w.cmd]), "--match needs the user by name, not uid 10001: the remap changes its uid, so the next start would not find it; write 'ops'");
      unchanged();
    });
  });

  describe('/etc integrity', () => {
    it('bytes that are not UTF-8 survive a remap exactly', () => {
      const latin1 = w.passwd.replace('Ops', 'Jos\xe9') + 'caf\xe9:x:10004:10004:\xff\xfe:/:/bin/sh\n';
      const group = w.group + 'gr\xfcn:x:10004:ops\n';
      fs.writeFileSync(path.join(w.etc, 'passwd'), Buffer.from(latin1, 'latin1'));
      fs.writeFileSync(path.join(w.etc, 'group'), Buffer.from(group, 'latin1'));
      const r = run(['-q', '--match', w.vol(4321, 4321), 'ops', '--', ...w.cmd]);
      expect([r.status, r.stdout]).toEqual([0, '4321:4321:4321 10004\n']);
      expect(w.read('passwd')).toBe(latin1.replace('ops:x:10001:10001:', 'ops:x:4321:4321:'));
      expect(w.read('group')).toBe(group.replace('ops:x:10001:', 'ops:x:4321:'));
    });

    it('a symlinked /etc/passwd keeps its link; the file it points to is rewritten', () => {
      const real = path.join(w.dir, 'real');
      fs.mkdirSync(real);
      fs.renameSync(path.join(w.etc, 'passwd'), path.join(real, 'passwd'));
      fs.symlinkSync(path.join(real, 'passwd'), path.join(w.etc, 'passwd'));
      const r = run(['-q', '--match', w.vol(4321, 4321), 'ops', '--', ...w.cmd]);
      expect([r.status, r.stdout]).toEqual([0, '4321:4321:4321\n']);
      expect(fs.readlinkSync(path.join(w.etc, 'passwd'))).toBe(path.join(real, 'passwd'));
      expect(fs.readFileSync(path.join(real, 'passwd'), 'utf8')).toBe(w.passwd.replace('ops:x:10001:10001:', 'ops:x:4321:4321:'));
      expect(fs.readdirSync(real)).toEqual(['passwd']);
    });

    it('read-only /etc with writable bind-mounted passwd and group: rewritten in place, and the notice says so', () => {
      const files = path.join(w.dir, 'files');
      fs.mkdirSync(files);
      for (const f of ['passwd', 'group']) fs.copyFileSync(path.join(w.etc, f), path.join(files, f));
      const r = run(['--match', w.vol(4321, 4321), 'ops', '--', ...w.cmd], {
        setup: `mount --bind ${files}/passwd /etc/passwd && mount --bind ${files}/group /etc/group && mount -o remount,bind,ro /etc`,
      });
      expect([r.status, r.stdout]).toEqual([0, '4321:4321:4321\n']);
      expect(r.stderr).toMatch(/^stepdown: ops is now uid 4321 gid 4321 \(was 10001:10001\); wrote \/etc\/group \(in place\) and \/etc\/passwd \(in place\); re-owned/);
      expect(fs.readFileSync(path.join(files, 'passwd'), 'utf8')).toBe(w.passwd.replace('ops:x:10001:10001:', 'ops:x:4321:4321:'));
      expect(fs.readFileSync(path.join(files, 'group'), 'utf8')).toBe(w.group.replace('ops:x:10001:', 'ops:x:4321:'));
    });

    it('only one of the two files writable: refused, nothing changed', () => {
      const files = path.join(w.dir, 'files');
      fs.mkdirSync(files);
      fs.copyFileSync(path.join(w.etc, 'passwd'), path.join(files, 'passwd'));
      const r = run(['--match', w.vol(4321, 4321), 'ops', '--', ...w.cmd], { setup: `mount --bind ${files}/passwd /etc/passwd && mount -o remount,bind,ro /etc` });
      refused(r, '/etc/passwd can be written but /etc/group cannot (read-only); nothing was changed: make both writable, or both read-only');
      expect(fs.readFileSync(path.join(files, 'passwd'), 'utf8')).toBe(w.passwd);
      expect(owner(path.join(w.dir, 'home/ops/file'))).toBe('10001:10001');
    });

    it('/etc writable but /etc/passwd a read-only bind mount, /etc/group writable: refused before anything changes', () => {
      const files = path.join(w.dir, 'files');
      fs.mkdirSync(files);
      fs.copyFileSync(path.join(w.etc, 'passwd'), path.join(files, 'passwd'));
      const r = run(['--match', w.vol(4321, 4321), 'ops', '--', ...w.cmd], { setup: `mount --bind ${files}/passwd /etc/passwd && mount -o remount,bind,ro /etc/passwd` });
      refused(r, '/etc/group can be written but /etc/passwd cannot (read-only); nothing was changed: make both writable, or both read-only');
      unchanged();
      expect(fs.readFileSync(path.join(files, 'passwd'), 'utf8')).toBe(w.passwd);
      expect(owner(path.join(w.dir, 'home/ops/file'))).toBe('10001:10001');
    });

    it('both files read-only bind mounts (-v …:/etc/passwd:ro): nothing written or re-owned, runs as the owner\'s ids this start', () => {
      const files = path.join(w.dir, 'files');
      fs.mkdirSync(files);
      for (const f of ['passwd', 'group']) fs.copyFileSync(path.join(w.etc, f), path.join(files, f));
      const setup = ['passwd', 'group'].map((f) => `mount --bind ${files}/${f} /etc/${f} && mount -o remount,bind,ro /etc/${f}`).join(' && ');
      const r = run(['--match', w.vol(4321, 4321), 'ops', '--', ...w.cmd], { setup });
      expect([r.status, r.stdout, r.stderr]).toEqual([
        0,
        '4321:4321:4321\n',
        'stepdown: /etc/group and /etc/passwd cannot be written (read-only): nothing was written and no file re-owned; running as uid 4321 gid 4321 for this start only\n',
      ]);
      unchanged();
      for (const f of ['passwd', 'group']) expect(fs.readFileSync(path.join(files, f), 'utf8')).toBe(w.read(f));
      expect(owner(path.join(w.dir, 'home/ops/file'))).toBe('10001:10001');
    });

    describe('a full /etc (tmpfs)', () => {
      let mounted: string[] = [];
      afterEach(() => {
        for (const m of mounted.splice(0)) spawnSync('umount', [m]);
      });
      /** A tmpfs at dir with `free` pages left once passwd (> one page) and group are in it. */
      function tinyTmpfs(dir: string, passwd: string, free: number) {
        fs.mkdirSync(dir, { recursive: true });
        expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0755', 'stepdown-test', dir]).status).toBe(0);
        mounted.push(dir);
        fs.writeFileSync(path.join(dir, 'passwd'), passwd, { mode: 0o644 });
        fs.writeFileSync(path.join(dir, 'group'), w.group, { mode: 0o644 });
        const st = fs.statfsSync(dir);
        fs.writeFileSync(path.join(dir, 'filler'), Buffer.alloc((st.bavail - free) * st.bsize));
        expect(fs.statfsSync(dir).bavail).toBe(free);
      }
      // one page for each lock file, one free page for a passwd of two pages
      const padded = () => w.passwd + `#${'x'.repeat(4200)}\n`;

      it('the temp file does not fit: 125, passwd keeps its bytes, nothing re-owned, no temp file left', () => {
        const etc = path.join(w.dir, 'tiny');
        tinyTmpfs(etc, padded(), 3);
        const v = w.vol(4321, 10001); // only passwd changes
        const r = stepdown(subject, ['--match', v, 'ops', '--', ...w.cmd], { etcDir: etc });
        refused(r, /^stepdown: cannot write \/etc\/passwd: ENOSPC \(no space left on device\) \(writing \/etc\/\.passwd\.stepdown-[0-9]+-[0-9a-f]+\); \/etc\/passwd is unchanged\n$/);
        expect(fs.readFileSync(path.join(etc, 'passwd'), 'utf8')).toBe(padded());
        expect(fs.readdirSync(etc).sort()).toEqual(['filler', 'group', 'passwd']);
        expect(owner(path.join(w.dir, 'home/ops/file'))).toBe('10001:10001');
      });

      it('not even the lock file fits: 125, and the lock\'s temp file is not left behind', () => {
        const etc = path.join(w.dir, 'tiny');
        tinyTmpfs(etc, padded(), 0);
        const r = stepdown(subject, ['--match', w.vol(4321, 4321), 'ops', '--', ...w.cmd], { etcDir: etc });
        refused(r, /^stepdown: cannot create the lock \/etc\/passwd\.lock: .*ENOSPC.*; \/etc\/passwd and \/etc\/group are unchanged\n$/);
        expect(fs.readFileSync(path.join(etc, 'passwd'), 'utf8')).toBe(padded());
        expect(fs.readdirSync(etc).sort()).toEqual(['filler', 'group', 'passwd']);
      });

      it('in place (bind-mounted passwd) a longer file that does not fit: 125, the old bytes, never cut or padded', () => {
        const files = path.join(w.dir, 'tiny');
        const old = w.passwd + `#${'x'.repeat(4096 - w.passwd.length - 2)}\n`;
        expect(old.length).toBe(4096);
        tinyTmpfs(files, old, 0);
        const v = w.vol(123456, 10001); // 10001 -> 123456: one byte longer, a second page
        const r = run(['--match', v, 'ops', '--', ...w.cmd], { setup: `mount --bind ${files}/passwd /etc/passwd` });
        refused(r, 'cannot rewrite /etc/passwd in place: ENOSPC (no space left on device); it is unchanged');
        expect(fs.readFileSync(path.join(files, 'passwd'), 'utf8')).toBe(old);
      });
    });

    it('/etc/group a FIFO: 125 in one line at once (it used to block forever), nothing changed', () => {
      fs.rmSync(path.join(w.etc, 'group'));
      expect(spawnSync('mkfifo', [path.join(w.etc, 'group')]).status).toBe(0);
      refused(run(['--match', w.vol(4321, 4321), 'ops', '--', ...w.cmd]), '/etc/group is not a regular file (a FIFO); stepdown reads it only as a regular file of at most 64 MiB: fix the image or the mount');
      expect(w.read('passwd')).toBe(w.passwd);
    });

    // (never a link to /dev/zero here: a regression would read it without end on a shared machine)
    it.each([['/dev/null'], ['a regular file']])('a lock file that is a symlink (to %s) is refused in one line, never read', (to) => {
      const target = to.startsWith('/') ? to : path.join(w.dir, 'elsewhere');
      if (target !== to) fs.writeFileSync(target, '1\n');
      fs.symlinkSync(target, path.join(w.etc, 'passwd.lock'));
      refused(run(['--match', w.vol(4321, 4321), 'ops', '--', ...w.cmd], { env: { STEPDOWN_TEST_LOCK_WAIT_MS: '200' } }), '/etc/passwd.lock is a symbolic link; a lock file must be a regular file: remove it. /etc/passwd and /etc/group are unchanged');
      expect([w.read('passwd'), w.read('group')]).toEqual([w.passwd, w.group]);
      expect(owner(path.join(w.dir, 'home/ops/file'))).toBe('10001:10001');
    });

    it('a lock file that is a FIFO is refused in one line, never read', () => {
      expect(spawnSync('mkfifo', [path.join(w.etc, 'group.lock')]).status).toBe(0);
      refused(run(['--match', w.vol(4321, 4321), 'ops', '--', ...w.cmd], { env: { STEPDOWN_TEST_LOCK_WAIT_MS: '200' } }), '/etc/group.lock is not a regular file (a FIFO); a lock file must be a small regular file: remove it. /etc/passwd and /etc/group are unchanged');
      expect([w.read('passwd'), w.read('group')]).toEqual([w.passwd, w.group]);
    });

    it('two starts at once, 8 times: both changes land, nothing crashes, no lock or temp file stays', async () => {
      for (let i = 0; i < 8; i++) {
        if (i > 0) w = world();
        const a = w.vol(4321, 4321);
        const b = w.vol(5432, 5432);
        const start = (v: string, user: string) => startWithEtc(w.etc, [...subject.argv, '-q', '--match', v, user, '--', 'id', '-u']);
        const [ra, rb, rc] = await Promise.all([start(a, 'ops'), start(b, 'dev'), start(a, 'ops')]);
        expect([ra, rb, rc]).toEqual([
          { code: 0, out: '4321\n', err: '' },
          { code: 0, out: '5432\n', err: '' },
          { code: 0, out: '4321\n', err: '' },
        ]);
        expect(w.read('passwd')).toBe(w.passwd.replace('ops:x:10001:10001:', 'ops:x:4321:4321:').replace('dev:x:10003:10003:', 'dev:x:5432:5432:'));
        expect(w.read('group')).toBe(w.group.replace('ops:x:10001:', 'ops:x:4321:').replace('dev:x:10003:', 'dev:x:5432:'));
        expect(fs.readdirSync(w.etc).sort()).toEqual(['group', 'passwd']);
      }
    }, 120_000);

    it('a lock held by a live process: waits, then gives up with one line (short wait injected), nothing changed', () => {
      fs.writeFileSync(path.join(w.etc, 'passwd.lock'), String(process.pid)); // shadow-utils' format, a live PID
      const r = run(['-q', '--match', w.vol(4321, 4321), 'ops', '--', ...w.cmd], { env: { STEPDOWN_TEST_LOCK_WAIT_MS: '300' } });
      refused(r, `/etc/passwd.lock is held by pid ${process.pid} (another stepdown, or useradd/usermod) and was not released within 300 ms; /etc/passwd and /etc/group are unchanged. Retry; if no such process runs, remove /etc/passwd.lock`);
      expect(w.read('passwd')).toBe(w.passwd);
      expect(fs.readFileSync(path.join(w.etc, 'passwd.lock'), 'utf8')).toBe(String(process.pid));
    });

    it('SIGTERM while waiting for the lock (docker stop): 143 at once, one line, nothing changed', async () => {
      fs.writeFileSync(path.join(w.etc, 'passwd.lock'), String(process.pid));
      const script = 'mount --bind "$1" /etc && mount -t tmpfs none /root && mount -t tmpfs none /home && shift && exec "$@"';
      const c = spawn('unshare', ['--mount', 'sh', '-c', script, 'sh', w.etc, ...subject.argv, '--match', w.vol(4321, 4321), 'ops', '--', ...w.cmd], { env: { PATH: BASE_PATH } });
      let err = '';
      const waiting = new Promise<void>((resolve) =>
        c.stderr.on('data', (d: Buffer) => {
          err += d;
          if (err.includes('waiting for')) resolve();
        }),
      );
      const exit = new Promise<number | null>((resolve) => c.on('exit', (code) => resolve(code)));
      await waiting;
      c.kill('SIGTERM');
      expect(await exit).toBe(143);
      expect(err).toBe(`stepdown: waiting for /etc/passwd.lock (held by pid ${process.pid})\nstepdown: stopped by SIGTERM while waiting for /etc/passwd.lock; nothing was changed; the command was not run\n`);
      expect(w.read('passwd')).toBe(w.passwd);
      expect(w.ran()).toBe(false);
    });

    it('a stale lock (its process is gone) is removed and the remap goes ahead', () => {
      const gone = spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim();
      fs.writeFileSync(path.join(w.etc, 'passwd.lock'), gone);
      fs.writeFileSync(path.join(w.etc, 'group.lock'), `${gone}\npid:[1]\n`); // stepdown's format, another namespace, not refreshed for long
      const old = new Date(Date.now() - 60_000);
      fs.utimesSync(path.join(w.etc, 'group.lock'), old, old);
      fs.writeFileSync(path.join(w.etc, `passwd.lock.stepdown-${gone}-0123456789ab`), gone); // a run killed while locking
      fs.writeFileSync(path.join(w.etc, `.passwd.stepdown-${gone}-0123456789ab`), 'half'); // a run killed while writing
      const r = run(['-q', '--match', w.vol(4321, 4321), 'ops', '--', ...w.cmd]);
      expect([r.status, r.stdout, r.stderr]).toEqual([0, '4321:4321:4321\n', '']);
      expect(fs.readdirSync(w.etc).sort()).toEqual(['group', 'passwd']);
    });

    it('a restart with nothing to do removes the stale locks of a run killed before its unlock, and keeps a live one', () => {
      const vol = w.vol(4321, 4321);
      expect(run(['-q', '--match', vol, 'ops', '--', ...w.cmd]).status).toBe(0); // the remap is done
      const done = w.read('passwd');
      const gone = spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim();
      fs.writeFileSync(path.join(w.etc, 'passwd.lock'), gone);
      fs.writeFileSync(path.join(w.etc, 'group.lock'), String(process.pid)); // live: someone is working
      const r = run(['-q', '--match', vol, 'ops', '--', ...w.cmd]);
      expect([r.status, r.stdout, r.stderr]).toEqual([0, '4321:4321:4321\n', '']);
      expect(w.read('passwd')).toBe(done);
      expect(fs.readdirSync(w.etc).sort()).toEqual(['group', 'group.lock', 'passwd']);
    });
  });

  describe('re-owning and failures', () => {
    it('an entry that cannot be re-owned (immutable, on an ext4 of its own): 125 naming it and the count, /etc unchanged; the next start retries', () => {
      const img = path.join(w.dir, 'ext4.img');
      expect(spawnSync('truncate', ['-s', '8M', img]).status).toBe(0);
      expect(spawnSync('mkfs.ext4', ['-q', img]).status).toBe(0);
      const data = path.join(w.dir, 'data');
      fs.mkdirSync(data);
      // inside the namespace: a fresh ext4 at data (a --chown tree) with one immutable file
      const mount = `mount -o loop ${img} ${data}`;
      const prepare = `${mount} && touch ${data}/stuck ${data}/free && chown 10001:10001 ${data} ${data}/stuck ${data}/free && chattr +i ${data}/stuck`;
      const r = run(['--match', w.vol(4321, 4321), '--chown', data, 'ops', '--', ...w.cmd], { setup: prepare });
      // the walk's own wording of the error is its business; it must name the file and EPERM
      const rest = '/etc/passwd and /etc/group are unchanged and the next start retries; the command was not run';
      refused(r, new RegExp(`^stepdown: could not re-own 1 entry \\(first: "${data}/stuck": [^\\n]*EPERM[^\\n]*\\); ${rest}\\n$`));
      unchanged();
      const again = run(['-q', '--match', w.vol(4321, 4321), '--chown', data, 'ops', '--', 'stat', '-c', '%u:%g', `${data}/stuck`, `${data}/free`], { setup: `${mount} && chattr -i ${data}/stuck` });
      expect([again.status, again.stdout, again.stderr]).toEqual([0, '4321:4321\n4321:4321\n', '']);
      expect(w.read('passwd')).toBe(w.passwd.replace('ops:x:10001:10001:', 'ops:x:4321:4321:'));
    });

    it('a failed rename (an immutable /etc/passwd on an ext4 of its own): one line, passwd keeps its bytes, the next start finishes', () => {
      const img = path.join(w.dir, 'etc.img');
      expect(spawnSync('truncate', ['-s', '8M', img]).status).toBe(0);
      expect(spawnSync('mkfs.ext4', ['-q', img]).status).toBe(0);
      const mount = `mount -o loop ${img} /etc`;
      const v = w.vol(4321, 4321);
      const r = run(['--match', v, 'ops', '--', ...w.cmd], { setup: `${mount} && cp ${w.etc}/passwd ${w.etc}/group /etc/ && chattr +i /etc/passwd` });
      refused(r, /^stepdown: cannot replace \/etc\/passwd: EPERM \(operation not permitted\) \(renaming \/etc\/\.passwd\.stepdown-[0-9]+-[0-9a-f]+\); \/etc\/passwd is unchanged; \/etc\/group was already written, and the next start finishes the remap\n$/);
      const after = run(['-q', '--match', v, 'ops', '--', 'sh', '-c', 'ls -A /etc; cat /etc/passwd'], { setup: `${mount} && chattr -i /etc/passwd` });
      expect(after.status).toBe(0);
      expect(after.stdout).toBe('group\nlost+found\npasswd\n' + w.passwd.replace('ops:x:10001:10001:', 'ops:x:4321:4321:'));
    });

    it('an unknown group in user:group fails before anything changes', () => {
      refused(run(['--match', w.vol(4321, 4321), 'ops:nosuch', '--', ...w.cmd]), /^stepdown: unknown group 'nosuch'/);
      unchanged();
      expect(owner(path.join(w.dir, 'home/ops/file'))).toBe('10001:10001');
    });

    it.each([['/.'], ['//'], ['/tmp/..'], ['/tmp/../.']])('--chown %s is / and refused in one line', (p) => {
      refused(run(['--match', w.vol(4321, 4321), '--chown', p, 'ops', '--', ...w.cmd]), `--chown ${p}: that is / and stepdown refuses to re-own the whole filesystem; name the trees the user owns`);
      unchanged();
    });

    it('--chown through a symlink to / is refused after resolving it', () => {
      const link = path.join(w.dir, 'slash');
      fs.symlinkSync('/', link);
      refused(run(['--match', w.vol(4321, 4321), '--chown', link, 'ops', '--', ...w.cmd]), `--chown ${link}: that is / and stepdown refuses to re-own the whole filesystem; name the trees the user owns`);
      unchanged();
    });

    it.each([[''], ['/']])('--match naming a symlink (%j after it) is refused: the link could point at any account\'s file', (tail) => {
      const link = path.join(w.dir, 'data');
      fs.symlinkSync(w.vol(4321, 4321), link);
      refused(run(['--match', link + tail, 'ops', '--', ...w.cmd]), `--match ${link + tail} is a symbolic link; a remap takes its owner from the path itself, never from where a link points (it could be changed to point anywhere): name the mount point, or the directory it leads to`);
      unchanged();
      expect(owner(path.join(w.dir, 'home/ops/file'))).toBe('10001:10001');
    });

    it('relative --match and --chown are taken from the working directory, not from /', () => {
      const tree = path.join(w.dir, 'tree');
      fs.mkdirSync(tree);
      fs.writeFileSync(path.join(tree, 'f'), '');
      fs.chownSync(path.join(tree, 'f'), 10001, 10001);
      w.vol(4321, 4321, 'tree/vol');
      const r = run(['-q', '--match', 'vol', '--chown', '.', 'ops', '--', ...w.cmd], { cwd: tree });
      expect([r.status, r.stdout, r.stderr]).toEqual([0, '4321:4321:4321\n', '']);
      expect(owner(path.join(tree, 'f'))).toBe('4321:4321');
    });

    it('a home that is a root-owned symlink in root-owned directories is re-owned where it leads', () => {
      const home = path.join(w.dir, 'home/ops');
      const real = path.join(w.dir, 'real-ops');
      fs.renameSync(home, real);
      fs.symlinkSync(real, home);
      const r = run(['-q', '--match', w.vol(4321, 4321), 'ops', '--', ...w.cmd]);
      expect([r.status, r.stdout, r.stderr]).toEqual([0, '4321:4321:4321\n', '']);
      expect([owner(real), owner(path.join(real, 'file')), owner(home)]).toEqual(['4321:4321', '4321:4321', '0:0']);
    });

    it('a home that is a symlink someone else could replace is refused, nothing changed', () => {
      const home = path.join(w.dir, 'home/ops');
      const real = path.join(w.dir, 'real-ops');
      fs.renameSync(home, real);
      fs.symlinkSync(real, home);
      fs.lchownSync(home, 10001, 10001);
      refused(run(['--match', w.vol(4321, 4321), 'ops', '--', ...w.cmd]), `the home ${home} is a symbolic link and ${home} is owned by uid 10001, not root, so it could be pointed anywhere; nothing was changed: make the home a directory (or a root-owned link in root-owned directories), or point the user's home at ${real}`);
      unchanged();
      expect(owner(path.join(real, 'file'))).toBe('10001:10001');
    });

    it('COLUMNS=99999999 --audit prints a table, no internal error', () => {
      const r = run(['--audit'], { env: { COLUMNS: '99999999' } });
      expect(r.status).toBe(0);
      expect(r.stderr).toBe('');
      expect(Math.max(...r.stdout.split('\n').map((l) => l.length))).toBeLessThanOrEqual(400);
    });
  });

  describe('resolution (also --check)', () => {
    it('a passwd uid of 4294967295 is refused in one line by --check and by a run', () => {
      fs.appendFileSync(path.join(w.etc, 'passwd'), 'big:x:4294967295:100::/:/bin/sh\n');
      const msg = "/etc/passwd gives user 'big' uid 4294967295, which is (uid_t)-1 and not a usable id; fix the file";
      refused(run(['--check', 'big']), msg);
      refused(run(['big', '--', ...w.cmd]), msg);
    });

    it('a name with a space and non-ASCII letters that the files hold is accepted', () => {
      fs.appendFileSync(path.join(w.etc, 'passwd'), 'Jörg Müller:x:10020:10020::/nonexistent:/bin/sh\n');
      fs.appendFileSync(path.join(w.etc, 'group'), 'Grün:x:10020:\nteam:x:10021:x, Jörg Müller ,y\nteam2:x:10022: Jörg Müller\n');
      const r = run(['--check', 'Jörg Müller']);
      expect([r.status, r.stdout, r.stderr]).toEqual([0, 'uid=10020(Jörg Müller) gid=10020(Grün) groups=10020(Grün),10022(team2) home=/nonexistent\n', '']);
    });
  });
});
