// Parses `user` or `user:group`. Each part is a name or a plain decimal id.
// Numbers are stricter than gosu on purpose: `+0`, `-1`, ` 0`, `007`, `a:b:c`, empty parts are
// refused, because a typo in a user-spec must never quietly mean root. An all-digit part is an
// id; anything else is a name, taken as it is: the files decide whether it exists (like gosu,
// so a name with spaces or non-ASCII letters that /etc/passwd holds works).
import { fail } from '../system/errors.js';

export type IdOrName = { kind: 'id'; id: number } | { kind: 'name'; name: string };

export interface UserSpec {
  text: string;
  user: IdOrName;
  group?: IdOrName;
}

/** The largest id a user-spec (or --remap) may name: well inside uid_t, far from (uid_t)-1. */
export const MAX_ID = 2147483647;
/** Looks like a number but is not a plain decimal: a sign, or spaces around digits. */
const NUMBER_LIKE = /^[\s+-]*[0-9]+\s*$/;
const EXAMPLE = `use a name or id from /etc/passwd, optionally with ':group' (e.g. 'app' or '1000:1000')`;

export function parseUserSpec(text: string): UserSpec {
  if (text === '') fail(`empty user-spec: ${EXAMPLE}`);
  const parts = text.split(':');
  if (parts.length > 2) fail(`invalid user-spec '${text}': more than one ':'; ${EXAMPLE}`);
  const [userPart = '', groupPart] = parts;
  if (userPart === '') fail(`invalid user-spec '${text}': the user part is empty; ${EXAMPLE}`);
  if (groupPart === '') fail(`invalid user-spec '${text}': the group after ':' is empty; write '${userPart}' or '${userPart}:GROUP'`);
  const spec: UserSpec = { text, user: parsePart(text, userPart, 'user') };
  if (groupPart !== undefined) spec.group = parsePart(text, groupPart, 'group');
  return spec;
}

function parsePart(text: string, part: string, what: 'user' | 'group'): IdOrName {
  if (/^[0-9]+$/.test(part)) {
    if (part.length > 1 && part.startsWith('0')) {
      fail(`invalid user-spec '${text}': ${what} id '${part}' has a leading zero; write it as ${Number(part)}`);
    }
    const id = Number(part);
    if (id > MAX_ID) fail(`invalid user-spec '${text}': ${what} id ${part} is out of range 0-${MAX_ID}`);
    return { kind: 'id', id };
  }
  if (NUMBER_LIKE.test(part) || /[\0-\x1f\x7f]/.test(part)) {
    fail(`invalid user-spec '${text}': '${printable(part)}' is neither a ${what} name nor a decimal id; ${EXAMPLE}`);
  }
  return { kind: 'name', name: part };
}

/** Shows control characters and spaces so a bad spec is visible in a one-line message. */
export function printable(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}
