// Errors are values with an exit code; main.ts turns them into the single `stepdown: …` line.
// The codes follow coreutils env/timeout: 125 stepdown failed, 126 cannot execute, 127 not found.

export const EXIT_FAILURE = 125;
export const EXIT_CANNOT_EXECUTE = 126;
export const EXIT_NOT_FOUND = 127;

export class StepdownError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
    this.name = 'StepdownError';
  }
}

export function fail(message: string, exitCode: number = EXIT_FAILURE): never {
  throw new StepdownError(message, exitCode);
}

/** The errno code of a Node system error, or undefined. */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\x1b': '\\e' };

/**
 * A message made safe for one terminal line: control characters (C0, DEL, C1), line and
 * paragraph separators and bidirectional overrides are written as escapes (\r, \n, \t, \e,
 * \xHH, \u{HHHH}), so a name from a file or the command line can neither break the line nor
 * move the cursor, recolour the terminal or hide text.
 */
export function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const named = NAMED[c];
    if (named) return named;
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/** Bytes for a message: ASCII as it is (printable() escapes control characters when printed),
 * every byte of 0x80 and above as \xNN, so a name that is not UTF-8 is shown exactly. */
export function showBytes(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) out += b >= 0x80 ? `\\x${b.toString(16)}` : String.fromCharCode(b);
  return out;
}
