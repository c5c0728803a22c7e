// Who the exec'd command really is, read from its own /proc/<pid>/status.
import { describe, expect, it } from 'vitest';
import { IS_ROOT, PROBE, identityOf, statusFields, stepdown, subjects } from '../helpers/harness.js';

describe.skipIf(!IS_ROOT).each(subjects())('identity ($name)', (subject) => {
  const probe = (spec: string, opts = {}) => {
    const r = stepdown(subject, [spec, '--', ...PROBE], opts);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return { id: identityOf(r.stdout), home: /^HOME=(.*)$/m.exec(r.stdout)?.[1], fields: statusFields(r.stdout) };
  };

  // gosu's conformance table (root caller); groups always include the gid.
  it.each([
    ['0', '0:0:0', '/root'],
    ['0:0', '0:0:0', '/root'],
    ['root', '0:0:0', '/root'],
    ['0:root', '0:0:0', '/root'],
    ['root:0', '0:0:0', '/root'],
    ['root:root', '0:0:0', '/root'],
    ['0:1000', '0:1000:1000', '/root'],
    ['1000:1000', '1000:1000:1000', '/'],
    ['root:1000', '0:1000:1000', '/root'],
    ['1000:root', '1000:0:0', '/'],
    ['1000:0', '1000:0:0', '/'],
    ['1000:daemon', '1000:1:1', '/'],
    ['games', '5:60:60 100', '/usr/games'],
    ['games:daemon', '5:1:1', '/usr/games'],
    ['ops', '1500:1500:1500 2000 2001', '/home/ops'],
    ['1500', '1500:1500:1500 2000 2001', '/home/ops'],
    ['ops:appgroup', '1500:2000:2000', '/home/ops'],
    ['nohome', '1600:1600:1600', '/'],
  ])('%s → uid:gid:groups %s, HOME=%s', (spec, id, home) => {
    const p = probe(spec, { env: { HOME: '/omg/really/gosu/nowhere' } });
    expect(p.id).toBe(id);
    expect(p.home).toBe(home);
  });

  it("root's supplementary groups never leak, whatever the caller had", () => {
    const p = probe('ops', { wrapper: ['setpriv', '--groups=0,4,27', '--'] });
    expect(p.id).toBe('1500:1500:1500 2000 2001');
    expect(probe('ops:appgroup', { wrapper: ['setpriv', '--groups=0,4,27', '--'] }).id).toBe('1500:2000:2000');
  });

  it('a non-root target has no capabilities and all ids (real, effective, saved, fs) are the target', () => {
    const { fields } = probe('ops');
    expect(fields.Uid).toBe('1500\t1500\t1500\t1500'.replace(/\t/g, '\t'));
    expect(fields.Uid?.split(/\s+/)).toEqual(['1500', '1500', '1500', '1500']);
    expect(fields.Gid?.split(/\s+/)).toEqual(['1500', '1500', '1500', '1500']);
    expect(fields.CapEff).toBe('0000000000000000');
    expect(fields.CapPrm).toBe('0000000000000000');
    expect(fields.CapAmb).toBe('0000000000000000');
  });

  it('already the target user (Kubernetes runAsUser): runs the command directly', () => {
    const r = stepdown(subject, ['ops', '--', ...PROBE], { wrapper: ['setpriv', '--reuid=1500', '--regid=1500', '--groups=1500,3000', '--'] });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // the runtime's groups (e.g. an fsGroup) are kept: a non-root process cannot change them anyway
    expect(identityOf(r.stdout)).toBe('1500:1500:1500 3000');
    expect(r.stdout).toMatch(/^HOME=\/home\/ops$/m);
  });
});
