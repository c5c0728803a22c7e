import { afterEach, describe, expect, it, vi } from 'vitest';
import { dropAround } from '../../../src/drop/drop.js';
import type { Identity } from '../../../src/identity/resolve.js';

const ops: Identity = { uid: 1500, gid: 1500, groups: [1500, 2000], home: '/home/ops' };

describe('dropAround: the order of the steps', () => {
  const calls: string[] = [];
  const spy = (name: 'setgroups' | 'setgid' | 'seteuid' | 'setuid') =>
    vi.spyOn(process, name).mockImplementation(((arg: unknown) => {
      calls.push(`${name}(${Array.isArray(arg) ? `[${arg.join(',')}]` : String(arg)})`);
    }) as never);
  const spyAll = () => {
    calls.length = 0;
    for (const name of ['setgroups', 'setgid', 'seteuid', 'setuid'] as const) spy(name);
  };
  afterEach(() => vi.restoreAllMocks());

  it('groups, gid, euid; the lookup in between, borrowing root; then euid 0 and setuid for good', () => {
    spyAll();
    const result = dropAround({ ...ops, groups: [1500, 2000, 1500] }, (asRoot) => {
      calls.push('lookup');
      return asRoot(() => 'read as root');
    });
    expect(result).toBe('read as root');
    expect(calls).toEqual(['setgroups([1500,2000])', 'setgid(1500)', 'seteuid(1500)', 'lookup', 'seteuid(0)', 'seteuid(1500)', 'seteuid(0)', 'setuid(1500)']);
  });

  it('a refusal during the lookup stops there: root is never handed back for good', () => {
    spyAll();
    expect(() =>
      dropAround(ops, (asRoot) => {
        asRoot(() => 0);
        throw new Error('refused');
      }),
    ).toThrow('refused');
    expect(calls).toEqual(['setgroups([1500,2000])', 'setgid(1500)', 'seteuid(1500)', 'seteuid(0)', 'seteuid(1500)']);
  });

  it('a failing setgroups is a refusal before any other change', () => {
    spyAll();
    vi.spyOn(process, 'setgroups').mockImplementation(() => {
      throw Object.assign(new Error('EINVAL'), { code: 'EINVAL' });
    });
    expect(() => dropAround(ops, () => 0)).toThrow(/setgroups failed \(EINVAL\)/);
    expect(calls).toEqual([]);
  });
});
