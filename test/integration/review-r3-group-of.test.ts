// Adversarial review (round 3) of --group-of: who besides root can choose the gid a path leads
// to, what a pass-through start accepts, and refusals that come after /etc is written or that
// --check does not give. Every run has its own /etc files, empty /home and /root, and a private
// root-owned tmpfs over /mnt for the files and links, so nothing on the machine is read or changed.
import { describe, expect, it } from 'vitest';
import { IS_ROOT, type RunOptions, type Subject, stepdown, subjects } from '../helpers/harness.js';
import { LAB_GROUP, LAB_PASSWD } from '../helpers/lab.js';

const MNT = 'mount -t tmpfs -o mode=0755 stepdown-test /mnt';

const replaceable = (p: string, dir: string, why: string, gid: number) =>
  `--group-of ${p}: ${dir} ${why}, so an account other than root could put a link to any file there and choose the group the user gets; ` +
  `bind-mount the socket or device under a root-owned directory such as /run or /dev, or give the user gid ${gid} in /etc/group`;

/** ops (1500) is in 1500, 2000 and 2001; these 65533 groups more make exactly NGROUPS_MAX (65536). */
const FULL_GROUP = LAB_GROUP + Array.from({ length: 65533 }, (_, i) => `g${100000 + i}:x:${100000 + i}:ops\n`).join('');

const TOO_MANY = "user 'ops' is in 65537 groups, more than the 65536 supplementary groups Linux allows (NGROUPS_MAX); remove the user from groups in /etc/group, or name one group (ops:group) to run with that group alone";

describe.skipIf(!IS_ROOT).each(subjects())('--group-of, review round 3 ($name)', (subject: Subject) => {
  const run = (args: string[], opts: RunOptions = {}) => stepdown(subject, args, { ...opts, setup: [MNT, opts.setup ?? 'true'].join(' && ') });
  /** refused with exactly this line and 125, and the command (which would print) never ran */
  const refused = (args: string[], message: string, opts: RunOptions = {}) => {
    const r = run([...args, '--', 'echo', 'ran'], opts);
    expect({ status: r.status, stderr: r.stderr, stdout: r.stdout }).toEqual({ status: 125, stderr: `stepdown: ${message}\n`, stdout: '' });
  };

  // The directory rule lets a root-owned directory be writable by its group when that group is 0,
  // as if group 0 were root alone. A user whose primary group is 0 (the OpenShift convention the
  // remap supports, where images `chgrp -R 0 && chmod -R g=u` so the arbitrary uid can write) can
  // write such a directory: the command itself can put a link to any file there before the next
  // start and choose the gid it gets (here it could write /mnt/g; the file's gid 2500 is granted).
  it('a root-owned directory writable by group 0 is refused for a user whose group is 0 (it can plant the link itself)', () => {
    const opts: RunOptions = {
      passwd: `${LAB_PASSWD}app:x:1001:0:OpenShift style:/home/app:/bin/sh\n`,
      setup: 'mkdir -m 775 /mnt/g && touch /mnt/g/f && chgrp 2500 /mnt/g/f',
    };
    refused(['--group-of', '/mnt/g/f', 'app'], replaceable('/mnt/g/f', '/mnt/g', 'is writable by its group 0', 2500), opts);
  });

  // The same for another account whose group is 0 (Alpine's operator, halt, shutdown, sync are
  // such accounts; Kubernetes fsGroup: 0 gives gid 0 to every process of the pod): worker plants a
  // link to a file of gid 2500 in the group-0-writable directory, and ops is granted 2500.
  it('a root-owned directory writable by group 0 is refused when another account has group 0 (it planted the link)', () => {
    const opts: RunOptions = {
      passwd: `${LAB_PASSWD}worker:x:1002:0::/home/worker:/bin/sh\n`,
      setup: 'mkdir -m 775 /mnt/g && touch /mnt/secret && chgrp 2500 /mnt/secret && setpriv --reuid=1002 --regid=0 --clear-groups -- ln -s /mnt/secret /mnt/g/sock',
    };
    refused(['--group-of', '/mnt/g/sock', 'ops'], replaceable('/mnt/g/sock', '/mnt/g', 'is writable by its group 0', 2500), opts);
  });

  // Only root may choose the gid, but a file's owner can chgrp it to any group it is in, with no
  // write access to the directory. Here svc (1700), a member of group secrets (2500), gives its
  // socket in root-owned /mnt the group secrets, and ops is granted 2500 on the next start.
  it("a file owned by another non-root account (which can chgrp it to any of its groups) is refused", () => {
    const r = run(['--group-of', '/mnt/s.sock', 'ops', '--', 'echo', 'ran'], {
      passwd: `${LAB_PASSWD}svc:x:1700:1700::/home/svc:/bin/sh\n`,
      group: `${LAB_GROUP}svc:x:1700:\nsecrets:x:2500:svc\n`,
      setup: 'touch /mnt/s.sock && chown 1700:1700 /mnt/s.sock && setpriv --reuid=1700 --regid=1700 --groups=1700,2500 -- chgrp 2500 /mnt/s.sock',
    });
    expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 125, stdout: '' });
    expect(r.stderr).toMatch(/^stepdown: --group-of \/mnt\/s\.sock: [^\n]*uid 1700[^\n]*\n$/);
  });

  // Pass-through: the README says stepdown proceeds only if the PROCESS holds the gid, otherwise
  // it names supplementalGroups. A gid the image's /etc/group lists for the user but the runtime
  // did not give the process (Kubernetes supplementalGroupsPolicy: Strict, setpriv --groups) is
  // not held: today the run proceeds silently and the command lacks the group.
  it('already the target: a gid /etc/group lists for the user but the process does not hold is refused, naming supplementalGroups', () => {
    refused(
      ['--group-of', '/mnt/sock', 'ops'],
      '--group-of /mnt/sock: already running as uid 1500 gid 1500, without gid 998, and a process that is not root cannot add groups; add it to the pod spec (securityContext.supplementalGroups: [998]) or run with docker run --group-add 998, or start the container as root',
      {
        group: `${LAB_GROUP}docker:x:998:ops\n`,
        setup: 'touch /mnt/sock && chgrp 998 /mnt/sock',
        wrapper: ['setpriv', '--reuid=1500', '--regid=1500', '--groups=1500', '--'],
      },
    );
  });

  // readlinkSync decodes a link's bytes as UTF-8: a link to '\xff' is followed to the file named
  // U+FFFD (bytes ef bf bd), another file than the kernel reaches. The walk must follow the bytes
  // (readlink as a Buffer), or refuse a link that is not UTF-8; never report the other file's gid.
  it("a symlink whose target is not UTF-8 leads where the kernel goes, not to the file named U+FFFD", () => {
    const setup = [
      `touch "$(printf '/mnt/\\377')" && chgrp 997 "$(printf '/mnt/\\377')"`,
      `touch "$(printf '/mnt/\\357\\277\\275')" && chgrp 996 "$(printf '/mnt/\\357\\277\\275')"`,
      `ln -s "$(printf '\\377')" /mnt/l`,
      // what the kernel resolves: gid 997
      'test "$(stat -L -c %g /mnt/l)" = 997',
    ].join(' && ');
    const r = run(['--check', '--group-of', '/mnt/l', 'ops'], { setup });
    expect(r.stdout).not.toContain('996');
    if (r.status === 0) expect([r.stderr, r.stdout]).toEqual(['', 'uid=1500(ops) gid=1500(ops) groups=1500(ops),2000(appgroup),2001(media),997 home=/home/ops\n']);
    else expect([r.status, r.stderr]).toEqual([125, expect.stringMatching(/^stepdown: --group-of \/mnt\/l: [^\n]*\n$/)]);
  });

  describe('a user at the 65536-group limit, one more from --group-of', () => {
    const sock = 'touch /mnt/sock && chgrp 998 /mnt/sock';
    // the README: with --remap every --group-of refusal comes before the remap writes /etc, and
    // the group limit counts the added gids. Today the count is checked before the remap without
    // the added gid and after it with it: /etc/passwd is rewritten, then the run is refused.
    it('--remap: refused before /etc is written', () => {
      const thenPasswd = ['sh', '-c', '"$@"; s=$?; grep "^ops:" /etc/passwd; exit $s', 'sh'];
      const r = run(['--remap', '4000:4000', '--group-of', '/mnt/sock', 'ops', '--', 'echo', 'ran'], { group: FULL_GROUP, setup: sock, wrapper: thenPasswd });
      expect({ status: r.status, stderr: r.stderr, stdout: r.stdout }).toEqual({ status: 125, stderr: `stepdown: ${TOO_MANY}\n`, stdout: 'ops:x:1500:1500:Ops:/home/ops:/bin/sh\n' });
    });
    // --check shows what a run gets and must refuse what a run refuses; today it prints 65537 groups and exits 0
    it('--check refuses it as a run does', () => {
      const run1 = run(['--group-of', '/mnt/sock', 'ops', '--', 'echo', 'ran'], { group: FULL_GROUP, setup: sock });
      expect({ status: run1.status, stderr: run1.stderr }).toEqual({ status: 125, stderr: `stepdown: ${TOO_MANY}\n` });
      // its stdout (65537 groups today) kept in the private /mnt, only its start printed
      const shortOut = ['sh', '-c', '"$@" >/mnt/out; s=$?; head -c 100 /mnt/out; exit $s', 'sh'];
      const check = run(['--check', '--group-of', '/mnt/sock', 'ops'], { group: FULL_GROUP, setup: sock, wrapper: shortOut });
      expect({ status: check.status, stderr: check.stderr, stdout: check.stdout }).toEqual({ status: 125, stderr: `stepdown: ${TOO_MANY}\n`, stdout: '' });
    });
  });
});
