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

  it('--check escapes control bytes from /etc files: one line, nothing for the terminal to act on', () => {
    const r = stepdown(subject, ['--check', 'esc'], {
      passwd: 'root:x:0:0:root:/root:/bin/sh\nesc:x:1700:1700::/home/x\x1b[2J\x1b]0;pwned\x07:/bin/sh\n',
      group: 'root:x:0:\nbell\x07grp:x:1700:\n',
    });
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toBe('uid=1700(esc) gid=1700(bell\\x07grp) groups=1700(bell\\x07grp) home=/home/x\\e[2J\\e]0;pwned\\x07\n');
  });

  it("a NIS '+' line with the same uid before the real entry is skipped, as glibc's files backend does (not gid 0)", () => {
    const r = stepdown(subject, ['1500', '--', ...PROBE], {
      passwd: 'root:x:0:0:root:/root:/bin/sh\n+nis:x:1500:0:nis:/nis:/bin/sh\nops:x:1500:1500::/home/ops:/bin/sh\n',
      group: 'root:x:0:\nops:x:1500:\n',
    });
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(identityOf(r.stdout)).toBe('1500:1500:1500');
    expect(r.stdout).toMatch(/^HOME=\/home\/ops$/m);
  });

  it('a NUL byte in the home field: the home ends there, as glibc (getent, id) sees it; one run, no Node warning', () => {
    const r = stepdown(subject, ['nulhome', '--', ...PROBE], { passwd: 'root:x:0:0:root:/root:/bin/sh\nnulhome:x:1700:1700::/home/a\0b:/bin/sh\n' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^HOME=\/home\/a$/m);
  });

  it('a home whose bytes are not UTF-8: refused in one line (HOME would reach the command altered)', () => {
    const passwd = Buffer.from('root:x:0:0:root:/root:/bin/sh\ncafe:x:1700:1700::/home/caf\xe9:/bin/sh\n', 'latin1').toString('latin1');
    const r = stepdown(subject, ['cafe', '--', ...PROBE], { passwd, latin1Etc: true });
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe("stepdown: /etc/passwd line 2 gives user 'cafe' the home /home/caf\\xe9, which is not UTF-8, so HOME cannot be passed exactly; rename the directory and fix the file\n");
    expect(r.status).toBe(125);
  });

  it('already the target but in root group 0: refused, nothing runs', () => {
    const r = stepdown(subject, ['ops', '--', ...PROBE], { wrapper: ['setpriv', '--reuid=1500', '--regid=1500', '--groups=0,4', '--'] });
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^stepdown: already running as uid 1500 gid 1500 but in root's group 0, which the command would inherit; remove gid 0 [^\n]*\n$/);
    expect(r.status).toBe(125);
  });

  it('already the target with group 0 as its planned gid: runs', () => {
    const r = stepdown(subject, ['1500:0', '--', ...PROBE], { wrapper: ['setpriv', '--reuid=1500', '--regid=0', '--groups=0,4', '--'] });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(identityOf(r.stdout)).toBe('1500:0:0 4');
  });

  it('already the target but holding ambient capabilities: refused, the command never gets them', () => {
    const r = stepdown(subject, ['ops', '--', ...PROBE], {
      wrapper: ['setpriv', '--reuid=1500', '--regid=1500', '--clear-groups', '--inh-caps=+setuid', '--ambient-caps=+setuid', '--'],
    });
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^stepdown: already running as uid 1500 gid 1500 but with capabilities \(CapEff 80, CapPrm 80, CapAmb 80\), [^\n]*--cap-drop ALL[^\n]*\n$/);
    expect(r.status).toBe(125);
  });
});
