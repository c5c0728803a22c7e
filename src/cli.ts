// Turns argv (and STEPDOWN_* environment) into an Invocation. Option parsing stops at the
// user-spec: everything after it is the command, and one '--' right after it is a separator,
// so both `stepdown ops ls -l` and `stepdown ops -- node server.js` work.
import * as path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { fail } from './system/errors.js';

export type Invocation =
  | { kind: 'print'; text: string }
  | { kind: 'check'; spec: string }
  | { kind: 'audit'; json: boolean; strict: boolean }
  | { kind: 'run'; spec: string; command: string[]; match?: string; chown: string[]; quiet: boolean; allowSystemIds: boolean };

const USAGE = 'stepdown [options] <user-spec> [--] <command> [args...]';
const AUDIT_USAGE = 'stepdown --audit [--json] [--strict]';

const AFTER_HELP = `
A user-spec is 'user' or 'user:group': names or decimal ids from /etc/passwd and /etc/group.
'user' gets its primary group plus every group listing it; 'user:group' gets only that group.

Examples:
  stepdown app -- node server.js              become app, exec node as PID 1
  stepdown 1000:1000 id                       numeric ids need no passwd entry
  stepdown --match /data app -- node app.js   make app own what /data's owner owns
  stepdown --audit                            what the kernel says about this process
  stepdown app -- stepdown --audit --strict   audit the identity app gets; exit 1 if it
                                              breaks the Kubernetes "restricted" profile

Exit status: the command's own; 125 if stepdown failed, 126 if the command cannot be
executed, 127 if it was not found. Nothing is run when stepdown fails.
`;

export function parseArgs(argv: string[], matchEnv: string | undefined, version: string): Invocation {
  let printed = '';
  const program = new Command('stepdown')
    .usage('[options] <user-spec> [--] <command> [args...]')
    .description('Start as root, become <user-spec>, and replace stepdown with <command>, which keeps its PID.')
    .argument('[user-spec]')
    .argument('[command...]')
    .option('--match <path>', "remap the user to the owner uid/gid of <path> first (env STEPDOWN_MATCH)")
    .addOption(new Option('--chown <path>', 're-own this tree too after a remap (repeatable)').argParser(collect).default([] as string[], 'none'))
    .option('--allow-system-ids', "with --match: accept a volume owner that is a system account or privileged group (env STEPDOWN_ALLOW_SYSTEM_IDS=1)")
    .option('-q, --quiet', 'no notices; errors still print')
    .option('--check', "print the identity <user-spec> resolves to, run nothing")
    .option('--audit', 'report what the kernel says about this process (uid, capabilities, no_new_privs, seccomp, mounts, limits), run nothing')
    .option('--json', 'with --audit: JSON instead of a table')
    .option('--strict', 'with --audit: exit 1 if a check the Kubernetes "restricted" profile requires fails')
    .version(version, '-V, --version', 'print the version of stepdown and of the Node inside')
    .helpOption('-h, --help', 'print this help')
    .passThroughOptions()
    .allowExcessArguments(true)
    .exitOverride()
    .configureOutput({ writeOut: (s) => (printed += s), writeErr: () => {}, outputError: () => {} })
    .addHelpText('after', AFTER_HELP);

  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return { kind: 'print', text: printed };
      fail(`${err.message.replace(/^error: /, '')}; see 'stepdown --help'`);
    }
    throw err;
  }

  const opts = program.opts<{ match?: string; chown: string[]; allowSystemIds?: boolean; quiet?: boolean; check?: boolean; audit?: boolean; json?: boolean; strict?: boolean }>();
  const [spec, ...rest] = program.args;
  if (opts.audit) {
    if (spec !== undefined) fail(`--audit takes no user-spec or command ('${spec}'); to audit the identity a user gets: stepdown ${spec} -- stepdown --audit`);
    if (opts.check) fail(`--audit and --check do not go together; usage: ${AUDIT_USAGE}`);
    if (opts.match !== undefined || opts.chown.length > 0) fail(`--match and --chown do not apply to --audit; usage: ${AUDIT_USAGE}`);
    return { kind: 'audit', json: opts.json === true, strict: opts.strict === true };
  }
  if (opts.json || opts.strict) fail(`${opts.json ? '--json' : '--strict'} only applies with --audit; usage: ${AUDIT_USAGE}`);
  if (spec === undefined) fail(`missing user-spec and command; usage: ${USAGE}`);
  const command = rest[0] === '--' ? rest.slice(1) : rest;

  if (opts.check) {
    if (command.length > 0) fail(`--check takes only a user-spec, not a command ('${command[0]}'); usage: stepdown --check <user-spec>`);
    return { kind: 'check', spec };
  }
  if (command.length === 0) fail(`no command given after '${spec}'; usage: ${USAGE}`);

  const match = opts.match ?? (matchEnv || undefined);
  if (opts.chown.length > 0 && match === undefined) fail('--chown only applies with --match (it re-owns trees after a remap)');
  // every spelling of / (`//`, `/.`, `/tmp/..`); a symlink to / is caught after resolving it
  for (const p of opts.chown) if (path.resolve(p) === '/') fail(`--chown ${p}: that is / and stepdown refuses to re-own the whole filesystem; name the trees the user owns`);
  if (opts.allowSystemIds && match === undefined) fail('--allow-system-ids only applies with --match');
  const inv: Invocation = { kind: 'run', spec, command, chown: opts.chown, quiet: opts.quiet === true, allowSystemIds: opts.allowSystemIds === true };
  if (match !== undefined) inv.match = match;
  return inv;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
