// What a parsed command line means: the options and positional arguments, as commander (cli.ts)
// or the hand parser of the common forms (cli-fast.ts) found them, checked and turned into an
// Invocation. Both parsers end here, so they cannot disagree on what a command line is allowed
// to say or on the message when it is not.
import * as path from 'node:path';
import { type RemapIds, parseRemapIds } from './remap/remap-arg.js';
import { fail } from './system/errors.js';
import { absolutePath } from './system/working-directory.js';

export type Invocation =
  | { kind: 'print'; text: string }
  | { kind: 'check'; spec: string; groupOf?: string[]; groupOfFromEnv?: true; allowSystemIds?: boolean }
  | { kind: 'audit'; json: boolean; strict: boolean }
  | { kind: 'run'; spec: string; command: string[]; match?: string; remap?: RemapIds; chown: string[]; quiet: boolean; allowSystemIds: boolean; groupOf?: string[]; groupOfFromEnv?: true };

/** The options as commander reports them (an option not given is undefined; --chown is always a list). */
export interface ParsedOptions {
  match?: string;
  remap?: string;
  chown: string[];
  /** --group-of, repeatable: always a list */
  groupOf: string[];
  allowSystemIds?: boolean;
  quiet?: boolean;
  check?: boolean;
  audit?: boolean;
  json?: boolean;
  strict?: boolean;
}

export const USAGE = 'stepdown [options] <user-spec> [--] <command> [args...]';
const AUDIT_USAGE = 'stepdown --audit [--json] [--strict]';

/** The variables that stand in for an option not given on the command line (an empty one is off). */
export interface OptionEnv {
  /** STEPDOWN_MATCH */
  match?: string | undefined;
  /** STEPDOWN_REMAP */
  remap?: string | undefined;
  /** STEPDOWN_GROUP_OF */
  groupOf?: string | undefined;
}

/** `args`: the positional arguments, the user-spec first; each variable in `env` applies when its
 * option is not given. */
export function toInvocation(opts: ParsedOptions, args: string[], env: OptionEnv): Invocation {
  const [spec, ...rest] = args;
  if (opts.audit) {
    if (spec !== undefined) fail(`--audit takes no user-spec or command ('${spec}'); to audit the identity a user gets: stepdown ${spec} -- stepdown --audit`);
    if (opts.check) fail(`--audit and --check do not go together; usage: ${AUDIT_USAGE}`);
    if (opts.match !== undefined || opts.chown.length > 0) fail(`--match and --chown do not apply to --audit; usage: ${AUDIT_USAGE}`);
    if (opts.remap !== undefined) fail(`--remap does not apply to --audit; usage: ${AUDIT_USAGE}`);
    if (opts.groupOf.length > 0) fail(`--group-of does not apply to --audit; usage: ${AUDIT_USAGE}`);
    return { kind: 'audit', json: opts.json === true, strict: opts.strict === true };
  }
  if (opts.json || opts.strict) fail(`${opts.json ? '--json' : '--strict'} only applies with --audit; usage: ${AUDIT_USAGE}`);
  if (spec === undefined) fail(`missing user-spec and command; usage: ${USAGE}`);
  const command = rest[0] === '--' ? rest.slice(1) : rest;

  const groupOf = groupOfPaths(opts.groupOf, env.groupOf);
  if (opts.check) {
    if (command.length > 0) fail(`--check takes only a user-spec, not a command ('${command[0]}'); usage: stepdown --check [--group-of <path>] <user-spec>`);
    if (groupOf.length === 0) return { kind: 'check', spec };
    const check: Invocation = { kind: 'check', spec, groupOf };
    if (opts.groupOf.length === 0) check.groupOfFromEnv = true;
    if (opts.allowSystemIds) check.allowSystemIds = true;
    return check;
  }
  if (command.length === 0) fail(`no command given after '${spec}'; usage: ${USAGE}`);

  // an empty path would resolve to the working directory: re-own or remap to whatever that is
  if (opts.match === '') fail("--match '' names no path; give the volume's mount point, or leave out --match (an empty STEPDOWN_MATCH means off)");
  for (const p of opts.chown) if (p === '') fail("--chown '' names no path; give the tree to re-own");
  const match = opts.match ?? (env.match || undefined);
  const remap = remapOption(opts, env.remap, match);
  if (opts.chown.length > 0 && match === undefined && remap === undefined) fail('--chown only applies with --match or --remap (it re-owns trees after a remap)');
  // every spelling of / (`//`, `/.`, `/tmp/..`); a symlink to / is caught after resolving it
  for (const p of opts.chown) if (path.resolve(absolutePath(`--chown ${p}`, p)) === '/') fail(`--chown ${p}: that is / and stepdown refuses to re-own the whole filesystem; name the trees the user owns`);
  if (opts.allowSystemIds && match === undefined && remap === undefined && groupOf.length === 0) fail('--allow-system-ids only applies with --match, --remap or --group-of');
  const inv: Invocation = { kind: 'run', spec, command, chown: opts.chown, quiet: opts.quiet === true, allowSystemIds: opts.allowSystemIds === true };
  if (match !== undefined) inv.match = match;
  if (remap !== undefined) inv.remap = remap;
  if (groupOf.length > 0) inv.groupOf = groupOf;
  // messages then name the variable: the operator may not know the image's ENV sets it
  if (groupOf.length > 0 && opts.groupOf.length === 0) inv.groupOfFromEnv = true;
  return inv;
}

/** --remap, or STEPDOWN_REMAP when it is not given (empty: off), parsed. Both --match and --remap,
 * from any mix of options and variables, is refused: no source outranks another, so an image's
 * ENV can never quietly override what `docker run` asked for, nor the other way round. */
function remapOption(opts: ParsedOptions, remapEnv: string | undefined, match: string | undefined): RemapIds | undefined {
  if (opts.remap === '') fail("--remap '' gives no ids; write UID:GID or UID (e.g. 1000:1000), or leave out --remap (an empty STEPDOWN_REMAP means off)");
  const text = opts.remap ?? (remapEnv || undefined);
  if (text === undefined) return undefined;
  if (match !== undefined) {
    const m = opts.match !== undefined ? `--match ${match}` : `STEPDOWN_MATCH=${match}`;
    const r = opts.remap !== undefined ? `--remap ${text}` : `STEPDOWN_REMAP=${text}`;
    fail(`${m} and ${r} both ask for a remap: choose one (--match takes the ids from a path's owner, --remap from its argument); an empty STEPDOWN_MATCH or STEPDOWN_REMAP is off`);
  }
  return parseRemapIds(text, opts.remap === undefined);
}

/** --group-of replaces STEPDOWN_GROUP_OF (as --match does STEPDOWN_MATCH): the command line is the
 * whole list of groups granted, so an operator can grant fewer than the image's ENV names. */
function groupOfPaths(option: string[], env: string | undefined): string[] {
  // an empty path would be the working directory: granting whatever group that has
  for (const p of option) if (p === '') fail("--group-of '' names no path; give the socket or device whose group the user joins, or leave out --group-of");
  if (option.length > 0) return option;
  if (env === undefined || env === '') return [];
  const paths = env.split(':');
  if (paths.includes('')) fail(`STEPDOWN_GROUP_OF=${JSON.stringify(env)} has an empty path; separate paths with one ':', or set it empty for none`);
  return paths;
}
