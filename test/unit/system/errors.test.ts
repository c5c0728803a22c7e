import { describe, expect, it } from 'vitest';
import { printable } from '../../../src/system/errors.js';

describe('printable', () => {
  it('escapes what would break the line or drive the terminal, and nothing else', () => {
    expect(printable('interpreter /bin/sh\r does not exist')).toBe('interpreter /bin/sh\\r does not exist');
    expect(printable("unknown user 'ops\n'")).toBe("unknown user 'ops\\n'");
    expect(printable('\x1b[31mred\x1b[0m\x07\x00\x7f\x9b')).toBe('\\e[31mred\\e[0m\\x07\\x00\\x7f\\x9b');
    expect(printable('a\u202eb\u2028c')).toBe('a\\u{202e}b\\u{2028}c');
    expect(printable("ünïcödé, 'quotes' and \\ stay")).toBe("ünïcödé, 'quotes' and \\ stay");
  });
});
