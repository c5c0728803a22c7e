// --match for real, as root: a private /etc, a "volume" owned by 4321:4321, a home full of
// files owned by the app user. The truth comes from the files' bytes and lstat, and from the
// exec'd command's own view.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { IS_ROOT, PROBE, type Subject, identityOf, stepdown, subjects, tempDir } from '../helpers/harness.js';

const owner = (p: string) => {
  const st = fs.lstatSync(p);
  return `${st.uid}:${st.gid}`;
};

function world(home: (dir: string) => string = (d) => `${d}/home/ops`) {
  const dir = tempDir();
  const etc = path.join(dir, 'etc');
  const vol = path.join(dir, 'vol');
  const h = home(dir);
  fs.mkdirSync(etc);
  fs.mkdirSync(vol);
  fs.chownSync(vol, 4321, 4321);
  const passwd = `root:x:0:0:root:/root:/bin/bash\n# a comment that must survive\nnode:x:1000:1000::/home/node:/bin/sh\nops:x:10001:10001:Ops,,,:${h}:/bin/sh\nbuddy:x:10002:10001::/nonexistent:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin`;
  const group = 'root:x:0:\nnode:x:1000:\nops:x:10001:\napp:x:2000:ops,buddy\nnogroup:x:65534:\n';
  fs.writeFileSync(path.join(etc, 'passwd'), passwd, { mode: 0o644 });
  fs.writeFileSync(path.join(etc, 'group'), group, { mode: 0o644 });
  fs.writeFileSync(path.join(etc, 'shadow'), 'ops:!:19000::::::\n', { mode: 0o640 });
  fs.chownSync(path.join(etc, 'shadow'), 0, 42);
  if (h.startsWith(dir)) {
    fs.mkdirSync(path.join(h, 'sub dir'), { recursive: true });
    for (const [name, uid, gid] of [['both', 10001, 10001], ['uidonly', 10001, 5], ['gidonly', 7, 10001], ['other', 7, 7], ['sub dir/line\nbreak', 10001, 10001]] as const) {
      fs.writeFileSync(path.join(h, name), name);
      fs.chownSync(path.join(h, name), uid, gid);
    }
    fs.writeFileSync(path.join(h, 'setuid'), '#!/bin/sh\n', { mode: 0o755 });
    fs.chownSync(path.join(h, 'setuid'), 10001, 10001);
    fs.chmodSync(path.join(h, 'setuid'), 0o6755);
    fs.symlinkSync(path.join(etc, 'shadow'), path.join(h, 'shadow-link'));
    fs.lchownSync(path.join(h, 'shadow-link'), 10001, 10001);
    fs.chownSync(path.join(h, 'sub dir'), 10001, 10001);
    fs.chownSync(h, 10001, 10001);
  }
  return { dir, etc, vol, home: h, passwd, group };
}

describe.skipIf(!IS_ROOT).each(subjects())('--match ($name)', (subject: Subject) => {
  let w: ReturnType<typeof world>;
  beforeEach(() => {
    w = world();
  });
  const run = (args: string[], opts: Parameters<typeof stepdown>[2] = {}) => stepdown(subject, args, { etcDir: w.etc, ...opts });
  const read = (f: string) => fs.readFileSync(path.join(w.etc, f), 'utf8');

  it('becomes the volume owner: ids, groups, HOME, new files on the volume, passwd/group byte-exact, home re-owned', () => {
    const r = run(['--match', w.vol, 'ops', '--', 'sh', '-c', `touch ${w.vol}/made-by-app && ${PROBE[2]}`, 'sh']);
    expect(r.stderr).toBe(`stepdown: ops is now uid 4321 gid 4321 (was 10001:10001); wrote /etc/group and /etc/passwd; re-owned 8 of 9 entries in ${w.home} (0.0 s)\n`);
    expect(r.status).toBe(0);
    expect(identityOf(r.stdout)).toBe('4321:4321:2000 4321');
    expect(r.stdout).toMatch(new RegExp(`^HOME=${w.home}$`, 'm'));
    expect(owner(path.join(w.vol, 'made-by-app'))).toBe('4321:4321');
    expect(read('passwd')).toBe(w.passwd.replace('ops:x:10001:10001:', 'ops:x:4321:4321:').replace('buddy:x:10002:10001:', 'buddy:x:10002:4321:'));
    expect(read('group')).toBe(w.group.replace('ops:x:10001:', 'ops:x:4321:'));
    expect(fs.statSync(path.join(w.etc, 'passwd')).mode & 0o7777).toBe(0o644);
    expect(read('shadow')).toBe('ops:!:19000::::::\n');
    // each id independently; others untouched; symlink re-owned, its target not; setuid kept
    expect(Object.fromEntries(['', 'both', 'uidonly', 'gidonly', 'other', 'sub dir', 'sub dir/line\nbreak', 'setuid', 'shadow-link'].map((n) => [n, owner(path.join(w.home, n))]))).toEqual({
      '': '4321:4321', both: '4321:4321', uidonly: '4321:5', gidonly: '7:4321', other: '7:7', 'sub dir': '4321:4321', 'sub dir/line\nbreak': '4321:4321', setuid: '4321:4321', 'shadow-link': '4321:4321',
    });
    expect(owner(path.join(w.etc, 'shadow'))).toBe('0:42');
    expect(fs.statSync(path.join(w.home, 'setuid')).mode & 0o7777).toBe(0o6755);
    expect(fs.readdirSync(w.etc).sort()).toEqual(['group', 'passwd', 'shadow']); // no temp files left
  });

  it('a second start is a no-op: nothing printed, nothing written', () => {
    expect(run(['--match', w.vol, 'ops', 'true']).status).toBe(0);
    const before = { passwd: fs.statSync(path.join(w.etc, 'passwd')).mtimeMs, group: fs.statSync(path.join(w.etc, 'group')).mtimeMs, bytes: read('passwd') + read('group') };
    const again = run(['--match', w.vol, 'ops', '--', 'id', '-u']);
    expect([again.status, again.stdout, again.stderr]).toEqual([0, '4321\n', '']);
    expect({ passwd: fs.statSync(path.join(w.etc, 'passwd')).mtimeMs, group: fs.statSync(path.join(w.etc, 'group')).mtimeMs, bytes: read('passwd') + read('group') }).toEqual(before);
  });

  it('the classic collision: the volume is 1000:1000, which the image\'s node user and group hold', () => {
    fs.chownSync(w.vol, 1000, 1000);
    const r = run(['--match', w.vol, 'ops', '--', ...PROBE]);
    expect(r.stderr).toContain('stepdown: uid 1000 already belongs to node; ops now shares it (like usermod -o)\n');
    expect(r.stderr).toContain("stepdown: gid 1000 already belongs to group node; it becomes ops's primary group\n");
    expect(identityOf(r.stdout)).toBe('1000:1000:1000 2000');
    expect(read('passwd')).toBe(w.passwd.replace('ops:x:10001:10001:', 'ops:x:1000:1000:'));
    expect(read('group')).toBe(w.group);
  });

  it('a root-owned volume leaves the ids alone, with a notice, and writes nothing', () => {
    fs.chownSync(w.vol, 0, 0);
    const r = run(['--match', w.vol, 'ops', '--', 'id', '-u']);
    expect(r.stdout).toBe('10001\n');
    expect(r.stderr).toMatch(/is owned by uid 0; ops keeps uid 10001/);
    expect(read('passwd')).toBe(w.passwd);
    expect(owner(path.join(w.home, 'both'))).toBe('10001:10001');
  });

  it('-q silences notices', () => {
    const r = run(['-q', '--match', w.vol, 'ops', '--', 'id', '-u']);
    expect([r.status, r.stdout, r.stderr]).toEqual([0, '4321\n', '']);
  });

  it('STEPDOWN_MATCH works like --match; empty means off', () => {
    expect(run(['-q', 'ops', '--', 'id', '-u'], { env: { STEPDOWN_MATCH: w.vol } }).stdout).toBe('4321\n');
    w = world();
    expect(run(['ops', '--', 'id', '-u'], { env: { STEPDOWN_MATCH: '' } }).stdout).toBe('10001\n');
  });

  it('user:group remaps the uid only', () => {
    const r = run(['-q', '--match', w.vol, 'ops:app', '--', ...PROBE]);
    expect(identityOf(r.stdout)).toBe('4321:2000:2000');
    expect(read('group')).toBe(w.group);
  });

  it('read-only /etc: writes nothing, still runs as the volume owner', () => {
    const r = run(['--match', w.vol, 'ops', '--', 'id', '-u'], { setup: 'mount -o remount,bind,ro /etc' });
    expect(r.stderr).toBe('stepdown: /etc/group and /etc/passwd cannot be written (read-only): nothing was written and no file re-owned; running as uid 4321 gid 4321 for this start only\n');
    expect([r.status, r.stdout]).toEqual([0, '4321\n']);
    expect(read('passwd')).toBe(w.passwd);
    expect(owner(path.join(w.home, 'both'))).toBe('10001:10001');
  });

  it('bind-mounted /etc/passwd and /etc/group (rename is EBUSY): rewritten in place', () => {
    const r = stepdown(subject, ['-q', '--match', w.vol, 'ops', '--', 'id', '-u'], {
      passwd: 'unused',
      setup: `mount --bind ${w.etc}/passwd /etc/passwd && mount --bind ${w.etc}/group /etc/group`,
    });
    expect([r.status, r.stdout, r.stderr]).toEqual([0, '4321\n', '']);
    expect(read('passwd')).toBe(w.passwd.replace('ops:x:10001:10001:', 'ops:x:4321:4321:').replace('buddy:x:10002:10001:', 'buddy:x:10002:4321:'));
  });

  it('a mount inside the home is not descended; the home itself as a mount point is not re-owned', () => {
    const inner = path.join(w.home, 'mnt');
    fs.mkdirSync(inner);
    const script = `mount -t tmpfs none ${inner} && touch ${inner}/f && chown 10001:10001 ${inner}/f ${inner}`;
    const r = run(['-q', '--match', w.vol, 'ops', '--', 'stat', '-c', '%u:%g', `${inner}/f`, inner], { setup: script });
    expect(r.stdout).toBe('10001:10001\n10001:10001\n');
    expect(owner(path.join(w.home, 'both'))).toBe('4321:4321');

    const w2 = world((d) => `${d}/vol`); // the home is the volume
    fs.chownSync(w2.vol, 4321, 4321);
    const r2 = stepdown(subject, ['--match', w2.vol, 'ops', '--', 'id', '-u'], { etcDir: w2.etc, setup: `mount --bind ${w2.vol} ${w2.vol}` });
    expect(r2.stderr).toContain(`stepdown: ${w2.vol} is a mount point; not re-owning it`);
    expect(r2.stdout).toBe('4321\n');
  });

  it('--chown re-owns more trees; a missing one is fine', () => {
    const extra = path.join(w.dir, 'extra');
    fs.mkdirSync(extra);
    fs.chownSync(extra, 10001, 10001);
    const r = run(['-q', '--match', w.vol, '--chown', extra, '--chown', path.join(w.dir, 'nope'), 'ops', 'true']);
    expect(r.status).toBe(0);
    expect(owner(extra)).toBe('4321:4321');
  });

  it.each([
    [['--match', '/nonexistent/vol', 'ops', 'true'], /--match \/nonexistent\/vol: no such file or directory; mount the volume there/],
    [['--match', '/tmp', '4242:4242', 'true'], /--match needs the user by name, not uid 4242/],
    [['--match', '/tmp', 'ghost', 'true'], /--match needs a user with an entry in \/etc\/passwd, and 'ghost' has none/],
    [['--match', '/tmp', '--chown', '/', 'ops', 'true'], /refuses to re-own the whole filesystem/],
  ])('%j is refused (125)', (args, message) => {
    const r = run(args);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(message);
    expect(read('passwd')).toBe(w.passwd);
  });

  it('without CAP_CHOWN a remap that must re-own files is refused before anything changes', () => {
    const r = run(['--match', w.vol, 'ops', 'true'], { wrapper: ['setpriv', '--bounding-set=-chown', '--'] });
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/^stepdown: re-owning .* needs CAP_CHOWN, which this process lacks; add it \(docker run --cap-add CHOWN/);
    expect(read('passwd')).toBe(w.passwd);
    expect(owner(path.join(w.home, 'both'))).toBe('10001:10001');
  });

  it('already running as the volume owner (non-root): nothing to write, runs directly', () => {
    const r = run(['-q', '--match', w.vol, 'ops', '--', 'id', '-u'], { wrapper: ['setpriv', '--reuid=4321', '--regid=4321', '--clear-groups', '--'] });
    expect([r.status, r.stdout, r.stderr]).toEqual([0, '4321\n', '']);
    expect(read('passwd')).toBe(w.passwd);
  });
});
