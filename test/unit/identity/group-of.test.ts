// --group-of: walking a path as the kernel would (lstat and readlink only) and deciding which
// gids the target gets, or the refusal, from what the walk found.
import { describe, expect, it } from 'vitest';
import { type FileStat, type GroupOfContext, type PathGroup, addGroupsOf, walkPath } from '../../../src/identity/group-of.js';
import type { Identity } from '../../../src/identity/resolve.js';
import { checkGroupCount } from '../../../src/drop/decide.js';
import { splitLines } from '../../../src/system/etc-files.js';

type Entry = Partial<FileStat> & { link?: string };
const dir = (uid = 0, gid = 0, mode = 0o755): Entry => ({ uid, gid, mode: 0o40000 | mode, isDirectory: true });
const file = (gid: number, uid = 0): Entry => ({ uid, gid, mode: 0o140660 });
const link = (to: string, uid = 0): Entry => ({ uid, gid: 0, mode: 0o120777, isSymbolicLink: true, link: to });

function fakeFs(entries: Record<string, Entry>) {
  const calls: string[] = [];
  const get = (f: string): Entry => {
    const e = entries[f];
    if (!e) throw Object.assign(new Error(`ENOENT ${f}`), { code: 'ENOENT' });
    return e;
  };
  return {
    calls,
    fs: {
      lstat: (f: string): FileStat => {
        calls.push(`lstat ${f}`);
        const e = get(f);
        return { uid: e.uid ?? 0, gid: e.gid ?? 0, mode: e.mode ?? 0, isDirectory: e.isDirectory ?? false, isSymbolicLink: e.isSymbolicLink ?? false };
      },
      readlink: (f: string): string => {
        calls.push(`readlink ${f}`);
        return get(f).link!;
      },
    },
  };
}

const HOST: Record<string, Entry> = {
  '/': dir(),
  '/var': dir(),
  '/var/run': link('../run'),
  '/run': dir(),
  '/run/docker.sock': file(998),
  '/dev': dir(),
  '/dev/kvm': file(994),
  '/dev/dri': dir(),
  '/dev/dri/renderD128': file(993),
  '/data': dir(1000, 1000),
  '/data/sock': file(1000),
  '/data/plant': link('/etc/shadow', 1000),
  '/etc': dir(),
  '/etc/shadow': file(42),
  '/tmp': dir(0, 0, 0o1777),
  '/tmp/x': link('/dev/kvm'),
  '/srv': dir(0, 50, 0o775),
  '/srv/s': file(990),
  '/opt': dir(2000, 2000),
  '/opt/other': link('/etc/shadow', 2000),
  '/adm': dir(0, 0, 0o775),
  '/adm/sock': file(990),
  '/loop': link('/loop'),
};

function walk(p: string, cwd = '/') {
  return walkPath(p, cwd, fakeFs(HOST).fs);
}

describe('walkPath', () => {
  it('follows /var/run → ../run and records every directory a name was looked up in', () => {
    expect(walk('/var/run/docker.sock')).toEqual({
      path: '/var/run/docker.sock',
      what: '--group-of /var/run/docker.sock',
      file: '/run/docker.sock',
      uid: 0,
      gid: 998,
      looked: [
        { dir: '/', uid: 0, gid: 0, mode: 0o40755 },
        { dir: '/var', uid: 0, gid: 0, mode: 0o40755 },
        { dir: '/run', uid: 0, gid: 0, mode: 0o40755 },
      ],
    });
  });

  it('uses only lstat and readlink (nothing is opened, so a FIFO cannot block)', () => {
    const f = fakeFs(HOST);
    walkPath('/dev/dri/renderD128', '/', f.fs);
    expect(f.calls).toEqual(['lstat /', 'lstat /dev', 'lstat /dev/dri', 'lstat /dev/dri/renderD128']);
  });

  it('resolves a relative path from the working directory, and . and ..', () => {
    expect(walk('dri/./renderD128', '/dev').gid).toBe(993);
    expect(walk('/etc/../dev/kvm').gid).toBe(994);
  });

  it('records the directory holding a symlink and where it leads', () => {
    expect(walk('/data/plant').looked.map((l) => l.dir)).toEqual(['/', '/data', '/etc']);
  });

  it.each([
    ['/nope', '--group-of /nope: no such file or directory; mount the socket or device there, or leave out --group-of'],
    ['/run/nope/x', '--group-of /run/nope/x: no such file or directory (at /run/nope); mount the socket or device there, or leave out --group-of'],
    ['/dev/kvm/x', '--group-of /dev/kvm/x: /dev/kvm is not a directory'],
    ['/dev/kvm/', '--group-of /dev/kvm/: /dev/kvm is not a directory'],
    ['/loop', '--group-of /loop: more than 40 symbolic links on the way (a loop?); name the file itself'],
  ])('%s: refused with the component named', (p, message) => {
    expect(() => walk(p)).toThrow(message);
  });
});

const APP: Identity = { uid: 1000, gid: 1000, groups: [1000, 100], home: '/home/app', userName: 'app' };
const GROUP = splitLines('root:x:0:\nshadow:x:42:\ndisk:x:6:\nusers:x:100:app\napp:x:1000:\ndocker:x:998:\nkvm:x:994:\n');
const AS_ROOT: GroupOfContext = { root: true, held: [0], group: GROUP, allowSystemIds: false };
const decide = (paths: string[], target = APP, ctx = AS_ROOT) => addGroupsOf(target, paths.map((p) => walk(p)), ctx);
const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return { message: (err as Error).message, exitCode: (err as { exitCode?: number }).exitCode };
  }
  return undefined;
};

describe('addGroupsOf', () => {
  it('adds the gid of each path after the user groups, each once', () => {
    expect(decide(['/var/run/docker.sock']).groups).toEqual([1000, 100, 998]);
    expect(decide(['/run/docker.sock', '/var/run/docker.sock', '/dev/kvm', '/dev/dri/renderD128']).groups).toEqual([1000, 100, 998, 994, 993]);
    // already the user's: nothing added, whatever the path (the user could choose only its own groups)
    expect(decide(['/data/sock']).groups).toEqual([1000, 100]);
  });

  it('refuses gid 0, even through a symlink, with 125', () => {
    const pg: PathGroup = { path: '/run/x', what: '--group-of /run/x', file: '/run/x', uid: 0, gid: 0, looked: [] };
    expect(refusal(() => addGroupsOf(APP, [pg], AS_ROOT))).toEqual({
      message: "--group-of /run/x: its group is gid 0 (root), and stepdown never adds root's group; give the file a group of its own (chgrp on the host), or leave out --group-of",
      exitCode: 125,
    });
  });

  const replaceable = (p: string, d: string, why: string, gid: number) =>
    `--group-of ${p}: ${d} ${why}, so an account other than root could put a link to any file there and choose the group the user gets; ` +
    `bind-mount the socket or device under a root-owned directory such as /run or /dev, or give the user gid ${gid} in /etc/group`;

  it('refuses a gid reached through a directory root alone cannot change: owned by any other uid, writable by everyone, or by any group (0 too)', () => {
    expect(refusal(() => decide(['/data/plant']))).toEqual({ message: replaceable('/data/plant', '/data', 'is owned by uid 1000', 42), exitCode: 125 });
    // another account of the container could plant the link as well as the user could
    expect(refusal(() => decide(['/opt/other']))?.message).toBe(replaceable('/opt/other', '/opt', 'is owned by uid 2000', 42));
    expect(refusal(() => decide(['/tmp/x']))?.message).toBe(replaceable('/tmp/x', '/tmp', 'is writable by everyone', 994));
    // group-writable by gid 50: refused whether or not the target has or gets 50
    expect(refusal(() => decide(['/srv/s']))?.message).toBe(replaceable('/srv/s', '/srv', 'is writable by its group 50', 990));
    expect(refusal(() => decide(['/srv/s'], { ...APP, groups: [1000, 50] }))?.message).toBe(replaceable('/srv/s', '/srv', 'is writable by its group 50', 990));
    // group 0 is no exception: a user whose group is 0 (OpenShift, fsGroup: 0) can write it
    expect(refusal(() => decide(['/adm/sock']))?.message).toBe(replaceable('/adm/sock', '/adm', 'is writable by its group 0', 990));
  });

  it('a gid the target already has is taken whatever the directories (it could choose only its own groups)', () => {
    expect(decide(['/srv/s'], { ...APP, groups: [1000, 100, 990] }).groups).toEqual([1000, 100, 990]);
    expect(decide(['/opt/other'], { ...APP, groups: [1000, 100, 42] }).groups).toEqual([1000, 100, 42]);
  });

  it('a root target can give itself any group: the ownership rule does not apply', () => {
    const root: Identity = { uid: 0, gid: 0, groups: [0], home: '/root' };
    expect(decide(['/tmp/x'], root).groups).toEqual([0, 994]);
  });

  it("refuses a privileged group of the image (shadow, disk…) unless --allow-system-ids; device groups (docker, kvm) are what it is for", () => {
    const shadow: PathGroup = { path: '/run/s', what: '--group-of /run/s', file: '/run/s', uid: 0, gid: 42, looked: [] };
    expect(refusal(() => addGroupsOf(APP, [shadow], AS_ROOT))?.message).toBe(
      "--group-of /run/s: its group is gid 42, which is 'shadow' in this image's /etc/group and carries rights here; if that group is meant, add --allow-system-ids (STEPDOWN_ALLOW_SYSTEM_IDS=1)",
    );
    expect(addGroupsOf(APP, [shadow], { ...AS_ROOT, allowSystemIds: true }).groups).toEqual([1000, 100, 42]);
    expect(decide(['/run/docker.sock', '/dev/kvm']).groups).toEqual([1000, 100, 998, 994]);
    // any name of the gid counts, not only the first line's
    const twoNames = splitLines('harmless:x:42:\nshadow:x:42:\n');
    expect(refusal(() => addGroupsOf(APP, [shadow], { ...AS_ROOT, group: twoNames }))?.message).toMatch(/^--group-of \/run\/s: its group is gid 42, which is 'shadow' in this image's/);
  });

  it('pass-through (already the target): proceeds when the gid is held, else says what to put in the pod spec', () => {
    const held: GroupOfContext = { ...AS_ROOT, root: false, held: [1000, 100, 998] };
    expect(decide(['/run/docker.sock'], APP, held)).toEqual(APP);
    expect(refusal(() => decide(['/run/docker.sock', '/dev/kvm', '/dev/dri/renderD128'], APP, held))).toEqual({
      message:
        '--group-of /dev/kvm: already running as uid 1000 gid 1000, without gid 994, 993, and a process that is not root cannot add groups; ' +
        'add it to the pod spec (securityContext.supplementalGroups: [994, 993]) or run with docker run --group-add 994 --group-add 993, or start the container as root',
      exitCode: 125,
    });
  });

  it('pass-through: a gid /etc/group gives the user but the process does not hold is refused (only what is held reaches the command)', () => {
    const notHeld: GroupOfContext = { ...AS_ROOT, root: false, held: [1000] };
    expect(refusal(() => decide(['/data/sock'], { ...APP, groups: [1000, 100] }, { ...notHeld, held: [1000] }))).toBeUndefined();
    expect(refusal(() => decide(['/run/docker.sock'], { ...APP, groups: [1000, 100, 998] }, notHeld))?.message).toMatch(/^--group-of \/run\/docker\.sock: already running as uid 1000 gid 1000, without gid 998, /);
  });

  it("the file itself must be root's or the user's: another owner can chgrp it to any of its groups", () => {
    const theirs: Record<string, Entry> = { ...HOST, '/run/theirs.sock': file(2500, 1700), '/run/mine.sock': file(2500, 1000), '/run/to-theirs': link('theirs.sock') };
    const at = (p: string, target = APP) => addGroupsOf(target, [walkPath(p, '/', fakeFs(theirs).fs)], AS_ROOT);
    const owned =
      '--group-of /run/to-theirs: /run/theirs.sock is owned by uid 1700, which can chgrp it to any group it is in and so choose the group the user gets; ' +
      'chown root the socket or device on the host, or give the user gid 2500 in /etc/group';
    expect(refusal(() => at('/run/to-theirs'))?.message).toBe(owned);
    expect(at('/run/mine.sock').groups).toEqual([1000, 100, 2500]);
    // a gid the user has, or a root target, is not judged
    expect(at('/run/to-theirs', { ...APP, groups: [1000, 2500] }).groups).toEqual([1000, 2500]);
    expect(at('/run/to-theirs', { uid: 0, gid: 0, groups: [0], home: '/root' }).groups).toEqual([0, 2500]);
  });

  it('the NGROUPS_MAX refusal counts the added gids; a gid already held adds nothing to the count', () => {
    const full: Identity = { ...APP, groups: Array.from({ length: 65536 }, (_, i) => i + 1000) };
    expect(() => checkGroupCount(decide(['/dev/kvm'], full), 'app')).toThrow(/^user 'app' is in 65537 groups, more than the 65536 supplementary groups Linux allows/);
    expect(() => checkGroupCount(decide(['/data/sock'], full), 'app')).not.toThrow();
  });
});
