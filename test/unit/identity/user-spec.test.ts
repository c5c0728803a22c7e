import { describe, expect, it } from 'vitest';
import { StepdownError } from '../../../src/system/errors.js';
import { parseUserSpec } from '../../../src/identity/user-spec.js';

describe('parseUserSpec', () => {
  it.each([
    ['ops', { user: { kind: 'name', name: 'ops' } }],
    ['1000', { user: { kind: 'id', id: 1000 } }],
    ['0', { user: { kind: 'id', id: 0 } }],
    ['2147483647', { user: { kind: 'id', id: 2147483647 } }],
    ['ops:appgroup', { user: { kind: 'name', name: 'ops' }, group: { kind: 'name', name: 'appgroup' } }],
    ['1000:1000', { user: { kind: 'id', id: 1000 }, group: { kind: 'id', id: 1000 } }],
    ['0day', { user: { kind: 'name', name: '0day' } }],
    ['www-data', { user: { kind: 'name', name: 'www-data' } }],
    ['machine$', { user: { kind: 'name', name: 'machine$' } }],
    ['Jörg Müller', { user: { kind: 'name', name: 'Jörg Müller' } }],
    ['ops:Grün', { user: { kind: 'name', name: 'ops' }, group: { kind: 'name', name: 'Grün' } }],
    ['a b', { user: { kind: 'name', name: 'a b' } }],
  ])('accepts %j', (text, expected) => {
    expect(parseUserSpec(text)).toEqual({ text, ...expected });
  });

  it.each([
    ['', /empty user-spec/],
    ['+0', /'\+0' is neither a user name nor a decimal id/],
    ['-1', /'-1' is neither/],
    [' 0', /' 0' is neither/],
    ['0 ', /'0 ' is neither/],
    ['a:b:c', /more than one ':'/],
    ['ops::', /more than one ':'/],
    [':0', /the user part is empty/],
    [':group', /the user part is empty/],
    ['ops:', /the group after ':' is empty/],
    ['0:', /the group after ':' is empty/],
    ['2147483648', /out of range 0-2147483647/],
    ['4294967295', /out of range/],
    ['1000:99999999999', /group id 99999999999 is out of range/],
    ['007', /leading zero; write it as 7/],
    ['ops\nroot', /'ops\\nroot' is neither/],
    ['+1000', /'\+1000' is neither/],
    ['1000 ', /'1000 ' is neither/],
    ['ops:-5', /'-5' is neither a group name/],
  ])('rejects %j with a message that says what is wrong', (text, message) => {
    expect(() => parseUserSpec(text)).toThrow(StepdownError);
    expect(() => parseUserSpec(text)).toThrow(message);
  });

  it('rejects with exit code 125', () => {
    try {
      parseUserSpec('+0');
      expect.unreachable();
    } catch (err) {
      expect((err as StepdownError).exitCode).toBe(125);
    }
  });
});
