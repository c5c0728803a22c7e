// --group-of for real, as root: the exec'd command's own Groups line, from its /proc status.
// Every run mounts a private tmpfs over /mnt (root-owned, 0755) holding the sockets, FIFOs and
// links, so nothing on the machine is created or read.
import { describe, expect, it } from 'vitest';
import { IS_ROOT, PROBE, type RunOptions, identityOf, stepdown, subjects } from '../helpers/harness.js';

// /mnt/sock: a socket-like file of gid 998; /mnt/fifo: a FIFO of gid 997 (opening it would block);
// /mnt/root0: group 0; /mnt/to-root: a symlink to it; /mnt/dup: gid 998 again; /mnt/mine: gid 2000,
// a group ops already has; /mnt/app: a directory ops owns; /mnt/secret: gid 990 in /mnt.
const SETUP = [
  'mount -t tmpfs -o mode=0755 stepdown-test /mnt',
  'touch /mnt/sock /mnt/dup /mnt/root0 /mnt/mine /mnt/secret',
  'mkfifo /mnt/fifo',
  'chgrp 998 /mnt/sock /mnt/dup && chgrp 997 /mnt/fifo && chgrp 2000 /mnt/mine && chgrp 990 /mnt/secret',
  'chmod 660 /mnt/sock /mnt/fifo /mnt/secret',
  'ln -s /mnt/root0 /mnt/to-root',
  'mkdir /mnt/app && chown 1500:1500 /mnt/app',
].join(' && ');

describe.skipIf(!IS_ROOT).each(subjects())('--group-of ($name)', (subject) => {
  const run = (args: string[], opts: RunOptions = {}) => stepdown(subject, args, { ...opts, setup: [SETUP, opts.setup ?? 'true'].join(' && ') });
  const probe = (args: string[], opts: RunOptions = {}) => {
    const r = run([...args, '--', ...PROBE], opts);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return identityOf(r.stdout);
  };
  /** refused with exactly this line and 125, and the command (which would print) never ran */
  const refused = (args: string[], message: string, opts: RunOptions = {}) => {
    const r = run([...args, '--', 'echo', 'ran'], opts);
    expect({ status: r.status, stderr: r.stderr, stdout: r.stdout }).toEqual({ status: 125, stderr: `stepdown: ${message}\n`, stdout: '' });
  };

  it("adds the path's gid to exactly the user's groups", () => {
    expect(probe(['ops'])).toBe('1500:1500:1500 2000 2001');
    expect(probe(['--group-of', '/mnt/sock', 'ops'])).toBe('1500:1500:998 1500 2000 2001');
    expect(probe(['--group-of', '/mnt/sock', 'ops:appgroup'])).toBe('1500:2000:998 2000');
  });

  it('several paths, each gid once; a FIFO is not opened; a gid the user has is not added twice', () => {
    expect(probe(['--group-of', '/mnt/sock', '--group-of', '/mnt/fifo', '--group-of', '/mnt/dup', '--group-of', '/mnt/mine', 'ops'])).toBe('1500:1500:997 998 1500 2000 2001');
  });

  it('STEPDOWN_GROUP_OF is a colon-separated list; --group-of replaces it', () => {
    expect(probe(['ops'], { env: { STEPDOWN_GROUP_OF: '/mnt/sock:/mnt/fifo' } })).toBe('1500:1500:997 998 1500 2000 2001');
    expect(probe(['--group-of', '/mnt/fifo', 'ops'], { env: { STEPDOWN_GROUP_OF: '/mnt/sock' } })).toBe('1500:1500:997 1500 2000 2001');
    expect(probe(['ops'], { env: { STEPDOWN_GROUP_OF: '' } })).toBe('1500:1500:1500 2000 2001');
  });

  it('gid 0 is refused, also through a symlink; a missing path is refused naming it', () => {
    const root = "its group is gid 0 (root), and stepdown never adds root's group; give the file a group of its own (chgrp on the host), or leave out --group-of";
    refused(['--group-of', '/mnt/root0', 'ops'], `--group-of /mnt/root0: ${root}`);
    refused(['--group-of', '/mnt/to-root', 'ops'], `--group-of /mnt/to-root: ${root}`);
    refused(['--group-of', '/mnt/sock', '--group-of', '/mnt/nope', 'ops'], '--group-of /mnt/nope: no such file or directory; mount the socket or device there, or leave out --group-of');
    // a path from the variable is named as such: the operator may not know the image's ENV sets it
    refused(['ops'], 'STEPDOWN_GROUP_OF path /mnt/gone/sock: no such file or directory (at /mnt/gone); mount the socket or device there, or remove it from STEPDOWN_GROUP_OF', { env: { STEPDOWN_GROUP_OF: '/mnt/gone/sock' } });
    refused(['ops'], "STEPDOWN_GROUP_OF path /mnt/root0: its group is gid 0 (root), and stepdown never adds root's group; give the file a group of its own (chgrp on the host), or remove it from STEPDOWN_GROUP_OF", { env: { STEPDOWN_GROUP_OF: '/mnt/sock:/mnt/root0' } });
  });

  it("a path through a directory root alone cannot change (a link or hard link planted there) is refused", () => {
    const plant = (cmd: string) => ({ setup: cmd });
    const rule = (path: string, dir: string, why: string, gid: number) =>
      `--group-of ${path}: ${dir} ${why}, so an account other than root could put a link to any file there and choose the group the user gets; ` +
      `bind-mount the socket or device under a root-owned directory such as /run or /dev, or give the user gid ${gid} in /etc/group`;
    refused(['--group-of', '/mnt/app/docker.sock', 'ops'], rule('/mnt/app/docker.sock', '/mnt/app', 'is owned by uid 1500', 990), plant('ln -s /mnt/secret /mnt/app/docker.sock'));
    refused(['--group-of', '/mnt/app/docker.sock', 'ops'], rule('/mnt/app/docker.sock', '/mnt/app', 'is owned by uid 1500', 990), plant('ln /mnt/secret /mnt/app/docker.sock'));
    // a symlink the user planted on the way to a root-owned directory
    refused(['--group-of', '/mnt/app/d/secret', 'ops'], rule('/mnt/app/d/secret', '/mnt/app', 'is owned by uid 1500', 990), plant('ln -s /mnt /mnt/app/d'));
    refused(['--group-of', '/mnt/w/x', 'ops'], rule('/mnt/w/x', '/mnt/w', 'is writable by everyone', 990), plant('mkdir -m 1777 /mnt/w && ln -s /mnt/secret /mnt/w/x'));
    refused(['--group-of', '/mnt/g/x', 'ops'], rule('/mnt/g/x', '/mnt/g', 'is writable by its group 2000', 990), plant('mkdir -m 775 /mnt/g && chgrp 2000 /mnt/g && ln -s /mnt/secret /mnt/g/x'));
    // another account's directory or group is refused as well: it could plant the link for the user
    refused(['--group-of', '/mnt/g/x', 'nobody:nogroup'], rule('/mnt/g/x', '/mnt/g', 'is writable by its group 2000', 990), plant('mkdir -m 775 /mnt/g && chgrp 2000 /mnt/g && ln -s /mnt/secret /mnt/g/x'));
    refused(['--group-of', '/mnt/o/x', 'ops'], rule('/mnt/o/x', '/mnt/o', 'is owned by uid 2002', 990), plant('mkdir /mnt/o && chown 2002:2002 /mnt/o && ln -s /mnt/secret /mnt/o/x'));
    // group 0 is no exception: an account whose group is 0 (OpenShift's arbitrary uid, fsGroup: 0) could plant the link
    refused(['--group-of', '/mnt/r/x', 'ops'], rule('/mnt/r/x', '/mnt/r', 'is writable by its group 0', 990), plant('mkdir -m 775 /mnt/r && ln -s /mnt/secret /mnt/r/x'));
    // mode bits only: a root:root 755 directory is root's alone
    expect(probe(['--group-of', '/mnt/r/x', 'ops'], plant('mkdir -m 755 /mnt/r && ln -s /mnt/secret /mnt/r/x'))).toBe('1500:1500:990 1500 2000 2001');
  });

  // /proc/<pid>/root reads as '/', so walked by name it leads to /mnt/sock (gid 998) through
  // root-owned directories; the kernel follows it to the process's own root instead, and
  // /proc/<pid>/fd/N to an open file whatever its name. The walk refuses to enter /proc.
  it('a path into /proc (magic links such as /proc/self/root, /proc/self/fd/N) is refused, also through a symlink', () => {
    const proc = (p: string, at: string) => `--group-of ${p}: it leads into /proc (at ${at}), whose links the walk cannot follow as the kernel does; name the socket or device itself`;
    refused(['--group-of', '/proc/self/root/mnt/sock', 'ops'], proc('/proc/self/root/mnt/sock', '/proc'));
    refused(['--group-of', '/mnt/fd', 'ops'], proc('/mnt/fd', '/proc'), { setup: 'ln -s /proc/self/fd/0 /mnt/fd' });
  });

  it("a privileged group of the image (shadow) needs --allow-system-ids", () => {
    const opts = { setup: 'touch /mnt/sh && chgrp 42 /mnt/sh' };
    refused(['--group-of', '/mnt/sh', 'ops'], "--group-of /mnt/sh: its group is gid 42, which is 'shadow' in this image's /etc/group and carries rights here; if that group is meant, add --allow-system-ids (STEPDOWN_ALLOW_SYSTEM_IDS=1)", opts);
    expect(probe(['--allow-system-ids', '--group-of', '/mnt/sh', 'ops'], opts)).toBe('1500:1500:42 1500 2000 2001');
  });

  describe('already the target (runAsUser): stepdown cannot add groups', () => {
    const as = (groups: string) => ({ wrapper: ['setpriv', '--reuid=1500', '--regid=1500', `--groups=${groups}`, '--'] });
    it('proceeds when the process holds the gid', () => {
      expect(probe(['--group-of', '/mnt/sock', 'ops'], as('1500,998'))).toBe('1500:1500:998 1500');
    });
    it('otherwise says what to put in the pod spec, and runs nothing', () => {
      refused(
        ['--group-of', '/mnt/sock', 'ops'],
        '--group-of /mnt/sock: already running as uid 1500 gid 1500, without gid 998, and a process that is not root cannot add groups; add it to the pod spec (securityContext.supplementalGroups: [998]) or run with docker run --group-add 998, or start the container as root',
        as('1500'),
      );
    });
  });

  describe('with --match', () => {
    const vol = 'mkdir /mnt/vol && chown 4000:4000 /mnt/vol';
    it("the remapped ids plus the path's gid; a socket the remap re-owned from the user's old gid counts as its own", () => {
      const opts = { setup: `${vol} && mkdir /mnt/run && touch /mnt/run/sock && chgrp 1500 /mnt/run/sock` };
      expect(probe(['-q', '--match', '/mnt/vol', '--chown', '/mnt/run', '--group-of', '/mnt/run/sock', '--group-of', '/mnt/sock', 'ops'], opts)).toBe('4000:4000:998 2000 2001 4000');
    });
    it('a path on the volume (owned by the user after the remap) is refused', () => {
      const opts = { setup: `${vol} && ln -s /mnt/secret /mnt/vol/sock` };
      refused(
        ['-q', '--match', '/mnt/vol', '--group-of', '/mnt/vol/sock', 'ops'],
        '--group-of /mnt/vol/sock: /mnt/vol is owned by uid 4000, so an account other than root could put a link to any file there and choose the group the user gets; ' +
          'bind-mount the socket or device under a root-owned directory such as /run or /dev, or give the user gid 990 in /etc/group',
        opts,
      );
    });
  });

  describe('with --remap', () => {
    // prints /etc/passwd after stepdown, in the same namespace: proof of what the run wrote
    const thenPasswd = { wrapper: ['sh', '-c', '"$@"; s=$?; grep "^ops:" /etc/passwd; exit $s', 'sh'] };
    it("the given ids plus the path's gid", () => {
      expect(probe(['-q', '--remap', '4000:4000', '--group-of', '/mnt/sock', 'ops'])).toBe('4000:4000:998 2000 2001 4000');
    });
    it('a --group-of path refused is refused before the remap writes /etc', () => {
      for (const [path, message] of [
        ['/mnt/nope', '--group-of /mnt/nope: no such file or directory; mount the socket or device there, or leave out --group-of'],
        ['/mnt/root0', "--group-of /mnt/root0: its group is gid 0 (root), and stepdown never adds root's group; give the file a group of its own (chgrp on the host), or leave out --group-of"],
      ]) {
        const r = run(['--remap', '4000:4000', '--group-of', path!, 'ops', '--', 'echo', 'ran'], thenPasswd);
        expect({ status: r.status, stderr: r.stderr, stdout: r.stdout }).toEqual({ status: 125, stderr: `stepdown: ${message}\n`, stdout: 'ops:x:1500:1500:Ops:/home/ops:/bin/sh\n' });
      }
    });
  });

  it('--check shows the added groups', () => {
    const r = run(['--check', '--group-of', '/mnt/sock', '--group-of', '/mnt/mine', 'ops']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('uid=1500(ops) gid=1500(ops) groups=1500(ops),2000(appgroup),2001(media),998 home=/home/ops\n');
  });
});
