// Adversarial review of --group-of and --remap: what they must refuse, when, and in what words. Each run binds its own /etc
// (remap-world), /home and /root, and mounts a private root-owned tmpfs over /mnt for the
// sockets, volumes and links, so nothing on the machine is read or changed.
import { beforeEach, describe, expect, it } from 'vitest';
import { IS_ROOT, PROBE, type RunOptions, type Subject, identityOf, stepdown, subjects } from '../helpers/harness.js';
import { world } from '../helpers/remap-world.js';

const MNT = 'mount -t tmpfs -o mode=0755 stepdown-test /mnt && touch /mnt/secret && chgrp 990 /mnt/secret && chmod 640 /mnt/secret';

const replaceable = (p: string, dir: string, why: string, gid: number) =>
  `--group-of ${p}: ${dir} ${why}, so an account other than root could put a link to any file there and choose the group the user gets; ` +
  `bind-mount the socket or device under a root-owned directory such as /run or /dev, or give the user gid ${gid} in /etc/group`;

describe.skipIf(!IS_ROOT).each(subjects())('--group-of and --remap under attack ($name)', (subject: Subject) => {
  let w: ReturnType<typeof world>;
  beforeEach(() => {
    w = world();
  });
  const run = (args: string[], opts: RunOptions = {}) => stepdown(subject, args, { etcDir: w.etc, ...opts, setup: [MNT, opts.setup ?? 'true'].join(' && ') });
  /** nothing changed: /etc byte for byte, no lock or temp file, the home still the user's old ids */
  const unchanged = () => {
    w.etcUnchanged();
    w.opsHomeUnchanged();
  };
  const refusedOnly = (r: { status: number | null; stderr: string; stdout: string }, message: string) => {
    expect({ status: r.status, stderr: r.stderr, stdout: r.stdout }).toEqual({ status: 125, stderr: `stepdown: ${message}\n`, stdout: '' });
    expect(w.ran()).toBe(false);
  };

  // The README promises that with --match/--remap the --group-of paths are checked before /etc is
  // written, judged against the ids the user is about to get: a directory the user owns (or can
  // write through its group) only under its NEW ids must be refused then, not after the remap
  // has rewritten /etc and re-owned the home (as a pre-check against the old ids did).
  it('a path on the --match volume (the user owns it once remapped) is refused before /etc is written', () => {
    const r = run(['--match', '/mnt/vol', '--group-of', '/mnt/vol/sock', 'ops', '--', ...w.cmd], {
      setup: 'mkdir /mnt/vol && chown 4000:4000 /mnt/vol && ln -s /mnt/secret /mnt/vol/sock',
    });
    refusedOnly(r, replaceable('/mnt/vol/sock', '/mnt/vol', 'is owned by uid 4000', 990));
    unchanged();
  });

  it('--remap: a directory owned by the new uid is refused before /etc is written', () => {
    const r = run(['--remap', '4000:4000', '--group-of', '/mnt/vol/sock', 'ops', '--', ...w.cmd], {
      setup: 'mkdir /mnt/vol && chown 4000:4000 /mnt/vol && ln -s /mnt/secret /mnt/vol/sock',
    });
    refusedOnly(r, replaceable('/mnt/vol/sock', '/mnt/vol', 'is owned by uid 4000', 990));
    unchanged();
  });

  it('--remap: a directory writable by the new gid is refused before /etc is written', () => {
    const r = run(['--remap', '4001:4000', '--group-of', '/mnt/run/sock', 'ops', '--', ...w.cmd], {
      setup: 'mkdir -m 775 /mnt/run && chgrp 4000 /mnt/run && ln -s /mnt/secret /mnt/run/sock',
    });
    refusedOnly(r, replaceable('/mnt/run/sock', '/mnt/run', 'is writable by its group 4000', 990));
    unchanged();
  });

  // The pre-check judges the identity the planned /etc gives: the new primary gid is the user's,
  // so a path of that group passes wherever it is, before and after the remap.
  it('--remap: a path of the new primary gid on a directory the new uid owns is the user\'s own group, not refused', () => {
    const r = run(['-q', '--remap', '4000:4000', '--group-of', '/mnt/vol/sock', 'ops', '--', ...PROBE], {
      setup: 'mkdir /mnt/vol && chown 4000:4000 /mnt/vol && touch /mnt/vol/sock && chgrp 4000 /mnt/vol/sock',
    });
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(identityOf(r.stdout)).toBe('4000:4000:4000');
  });

  // process.cwd() throws when the working directory was removed (a `docker exec -w` into a
  // directory deleted since, a shell left in a removed directory). An absolute path does not
  // depend on it, and a relative one must get a one-line stepdown error, not `internal error`.
  // dash says `sh: 0: getcwd() failed` on start (the npm launcher's /bin/sh, the probe's sh): not stepdown's lines.
  describe('the working directory was removed', () => {
    const gone = 'touch /mnt/sock && chgrp 998 /mnt/sock && mkdir /mnt/cwd && cd /mnt/cwd && rmdir /mnt/cwd';
    it('an absolute --group-of path still works, in a run and in --check', () => {
      const r = run(['--group-of', '/mnt/sock', 'ops', '--', ...PROBE], { setup: gone });
      expect([r.status, r.stderr.replace(/^sh: .*getcwd.*\n/gm, '')]).toEqual([0, '']);
      expect(identityOf(r.stdout)).toBe('10001:10001:998 10001');
      const c = run(['--check', '--group-of', '/mnt/sock', 'ops'], { setup: gone });
      expect([c.status, c.stderr.replace(/^sh: .*getcwd.*\n/gm, '')]).toEqual([0, '']);
      expect(c.stdout).toMatch(/^uid=10001\(ops\) gid=10001\(ops\) groups=10001\(ops\),998 home=/);
    });
    it('--remap with a relative --chown is refused in one line naming it, not an internal error, before anything changes', () => {
      const r = run(['--remap', '4000:4000', '--chown', 'data', 'ops', '--', ...w.cmd], { setup: gone });
      expect(r.status).toBe(125);
      const err = r.stderr.replace(/^sh: .*getcwd.*\n/gm, '');
      expect(err).not.toContain('internal error');
      expect(err).toMatch(/^stepdown: --chown data: [^\n]*working directory[^\n]*\n$/);
      expect(w.ran()).toBe(false);
      unchanged();
    });
    it('a relative --match path is refused in one line naming it (not "no such file"), before anything changes', () => {
      const r = run(['--match', 'vol', 'ops', '--', ...w.cmd], { setup: gone });
      expect([r.status, r.stderr.replace(/^sh: .*getcwd.*\n/gm, '')]).toEqual([125, 'stepdown: --match vol: a relative path, and the working directory cannot be read (removed?); give the absolute path\n']);
      expect(w.ran()).toBe(false);
      unchanged();
    });
    it('a relative --group-of path is refused in one line naming the path, not an internal error', () => {
      const r = run(['--group-of', 'sock', 'ops', '--', ...w.cmd], { setup: gone });
      expect(r.status).toBe(125);
      const err = r.stderr.replace(/^sh: .*getcwd.*\n/gm, '');
      expect(err).not.toContain('internal error');
      expect(err).toMatch(/^stepdown: --group-of sock: [^\n]*working directory[^\n]*\n$/);
      expect(w.ran()).toBe(false);
    });
  });

  // Node decodes argv and the environment as UTF-8: '/mnt/\xff' arrives as '/mnt/\u{FFFD}', a
  // different file. A run refuses such bytes; --check must not report the group of that other file.
  describe('a --group-of path that is not UTF-8', () => {
    const files = "touch \"$(printf '/mnt/\\357\\277\\275')\" && chgrp 997 \"$(printf '/mnt/\\357\\277\\275')\" && touch \"$(printf '/mnt/\\377')\" && chgrp 996 \"$(printf '/mnt/\\377')\"";
    const viaShell = (script: string) => ({ setup: files, wrapper: ['bash', '-c', script] });
    it('--check refuses it as a run does, and never shows the gid of the U+FFFD-named file', () => {
      const arg = run([], viaShell(`exec "$0" --check --group-of "$(printf '/mnt/\\377')" ops`));
      expect({ status: arg.status, stdout: arg.stdout }).toEqual({ status: 125, stdout: '' });
      expect(arg.stderr).toMatch(/^stepdown: [^\n]*not valid UTF-8[^\n]*\n$/);
      const env = run([], viaShell(`STEPDOWN_GROUP_OF="$(printf '/mnt/\\377')" exec "$0" --check ops`));
      expect({ status: env.status, stdout: env.stdout }).toEqual({ status: 125, stdout: '' });
      expect(env.stderr).toMatch(/^stepdown: [^\n]*STEPDOWN_GROUP_OF is not valid UTF-8[^\n]*\n$/);
    });
    it('--check refuses any argument that is not UTF-8, as a run does (a U+FFFD user-spec names another user)', () => {
      const r = run([], viaShell(`exec "$0" --check "$(printf 'ops\\377')"`));
      expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({
        status: 125,
        stdout: '',
        stderr: "stepdown: argument 2 ('ops\\xff') is not valid UTF-8: Node would pass other bytes on, so nothing was run; use UTF-8, or gosu for other bytes\n",
      });
    });
    it('a run refuses it (holds today)', () => {
      const r = run([], viaShell(`exec "$0" --group-of "$(printf '/mnt/\\377')" ops -- true`));
      expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 125, stdout: '' });
      expect(r.stderr).toMatch(/^stepdown: argument 2 \('\/mnt\/\\xff'\) is not valid UTF-8[^\n]*\n$/);
    });
  });

  // Started as non-root, the --group-of check runs before decideDrop and words its refusal as if
  // the process already were the target: a process of another uid, or one already holding the
  // ids a --remap asks for, is told it runs as ids it does not have.
  describe('started as non-root', () => {
    const sock = 'touch /mnt/sock && chgrp 998 /mnt/sock';
    const as = (ids: string) => ({ setup: sock, wrapper: ['setpriv', `--reuid=${ids}`, `--regid=${ids}`, '--clear-groups', '--'] });
    it('as another uid: the same refusal as without --group-of (running as 5000, cannot become the user)', () => {
      const r = run(['--group-of', '/mnt/sock', 'ops', '--', ...w.cmd], as('5000'));
      refusedOnly(r, 'running as uid 5000 gid 5000, not root, so cannot become uid 10001 gid 10001; start the container as root, or run it as uid 10001 gid 10001 (docker run --user 10001:10001)');
    });
    it('already the --remap ids: the refusal names the ids the process runs as', () => {
      const r = run(['--remap', '4000:4000', '--group-of', '/mnt/sock', 'ops', '--', ...w.cmd], as('4000'));
      refusedOnly(
        r,
        '--group-of /mnt/sock: already running as uid 4000 gid 4000, without gid 998, and a process that is not root cannot add groups; add it to the pod spec (securityContext.supplementalGroups: [998]) or run with docker run --group-add 998, or start the container as root',
      );
      unchanged();
    });
  });
});
