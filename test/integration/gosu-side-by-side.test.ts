// stepdown next to Debian's gosu, same inputs, same /etc files, root caller. Where they agree
// the kernel sees the same uid, gid and HOME; the differences are deliberate and listed here.
import { describe, expect, it } from 'vitest';
import { IS_ROOT, NODE24, PROBE, REPO, identityOf, runWithEtc, stepdown, subjects } from '../helpers/harness.js';

const gosu = (args: string[]) => runWithEtc(['gosu', ...args], { env: { HOME: '/omg/really/gosu/nowhere' } });
const home = (out: string) => /^HOME=(.*)$/m.exec(out)?.[1];
const [subject] = subjects();

describe.skipIf(!IS_ROOT)('side by side with gosu', () => {
  it('gosu is installed (Debian package)', () => {
    expect(runWithEtc(['gosu', '--version']).status).toBe(0);
  });

  // Both accept: same uid, gid, HOME. Groups: stepdown always puts the gid in the list
  // (like su-exec and initgroups); gosu leaves it out (members only, or empty for user:group).
  it.each(['0', '0:0', 'root', '0:root', 'root:0', 'root:root', '0:1000', '1000:1000', 'root:1000', '1000:root', '1000:daemon', 'games', 'games:daemon', 'ops', '1500', 'ops:appgroup', 'nobody:nogroup'])(
    '%s: same uid, gid and HOME; groups = gosu\'s plus the gid',
    (spec) => {
      const g = gosu([spec, ...PROBE]);
      const s = stepdown(subject!, [spec, ...PROBE], { env: { HOME: '/omg/really/gosu/nowhere' } });
      expect([g.status, s.status]).toEqual([0, 0]);
      const [gu, gg, ggroups] = identityOf(g.stdout).split(':');
      const [su, sg, sgroups] = identityOf(s.stdout).split(':');
      expect([su, sg]).toEqual([gu, gg]);
      const expected = [...new Set([...(ggroups ?? '').split(' ').filter(Boolean).map(Number), Number(gg)])].sort((a, b) => a - b);
      expect(sgroups).toBe(expected.join(' '));
      expect(home(s.stdout)).toBe(home(g.stdout));
    },
  );

  // gosu accepts these; stepdown refuses them on purpose (exit 125, nothing run).
  it.each([
    ['1000', /uid 1000 has no entry in \/etc\/passwd/, '1000:0:'], // gosu: gid 0, root's group, silently
    ['0:', /group after ':' is empty/, '0:0:'],
    [':0', /user part is empty/, '0:0:'],
    ['+0', /neither a user name nor a decimal id/, '0:0:'],
    ['00', /leading zero/, '0:0:'],
    ['ops:ops:junk', /more than one ':'/, '1500:1500:'],
  ])('%s: gosu runs it, stepdown refuses', (spec, message, gosuIdentity) => {
    const g = gosu([spec, ...PROBE]);
    expect(g.status).toBe(0);
    expect(identityOf(g.stdout)).toBe(gosuIdentity);
    const s = stepdown(subject!, [spec, ...PROBE]);
    expect(s.status).toBe(125);
    expect(s.stdout).toBe('');
    expect(s.stderr).toMatch(message);
  });

  it.each(['bogus', '0day', '0:bogus', '0:0day', '-1', '4294967295'])('%s: both refuse (gosu 1, stepdown 125)', (spec) => {
    expect(gosu([spec, 'true']).status).toBe(1);
    expect(stepdown(subject!, [spec, 'true']).status).toBe(125);
  });

  it('`--` after the user-spec: gosu tries to run a program called "--", stepdown treats it as a separator', () => {
    expect(gosu(['nobody', '--', 'true']).status).toBe(1);
    expect(stepdown(subject!, ['nobody', '--', 'true']).status).toBe(0);
  });

  it('PATH unset: gosu finds nothing, stepdown uses the default system PATH', () => {
    const g = runWithEtc(['env', '-u', 'PATH', '/usr/sbin/gosu', 'nobody', 'id', '-u']);
    expect(g.status).toBe(1);
    expect(g.stderr).toMatch(/executable file not found in \$PATH/);
    const s = runWithEtc(['env', '-u', 'PATH', NODE24, `${REPO}/dist/stepdown.cjs`, 'nobody', 'id', '-u']);
    expect([s.status, s.stdout, s.stderr]).toEqual([0, '65534\n', '']);
  });
});
