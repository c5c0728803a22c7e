// Turns argv (and STEPDOWN_* environment) into an Invocation. Option parsing stops at the
// user-spec: everything after it is the command, and one '--' right after it is a separator,
// so both `stepdown ops ls -l` and `stepdown ops -- node server.js` work.
//
// This is the definition of the command line, and it parses every form: help, errors, --audit.
// main.ts loads it only when cli-fast.ts declines an argv (commander costs every start that
// loads it a few ms); the two must agree on every argv the fast one accepts (tested).
import { Command, CommanderError, Option } from 'commander';
import { type Invocation, type OptionEnv, type ParsedOptions, toInvocation } from './invocation.js';
import { fail } from './system/errors.js';

export type { Invocation } from './invocation.js';

const AFTER_HELP = `
A user-spec is 'user' or 'user:group': names or decimal ids from /etc/passwd and /etc/group.
'user' gets its primary group plus every group listing it; 'user:group' gets only that group.

Examples:
  stepdown app -- node server.js              become app, exec node as PID 1
  stepdown 1000:1000 id                       numeric ids need no passwd entry
  stepdown --match /data app -- node app.js   make app own what /data's owner owns
  stepdown --remap 1000:1000 app -- server    make app uid 1000 gid 1000 (PUID/PGID)
  stepdown --group-of /var/run/docker.sock app -- docker ps
                                              app also gets the socket's group
  stepdown --audit                            what the kernel says about this process
  stepdown app -- stepdown --audit --strict   audit the identity app gets; exit 1 if it
                                              breaks the Kubernetes "restricted" profile

Exit status: the command's own; 125 if stepdown failed, 126 if the command cannot be
executed, 127 if it was not found. Nothing is run when stepdown fails.
`;

export function parseArgs(argv: string[], version: string, env: OptionEnv = {}): Invocation {
  let printed = '';
  const program = new Command('stepdown')
    .usage('[options] <user-spec> [--] <command> [args...]')
    .description('Start as root, become <user-spec>, and replace stepdown with <command>, which keeps its PID.')
    .argument('[user-spec]')
    .argument('[command...]')
    .option('--match <path>', "remap the user to the owner uid/gid of <path> first (env STEPDOWN_MATCH)")
    .option('--remap <uid[:gid]>', "remap the user to these ids first, like --match; not with --match (env STEPDOWN_REMAP)")
    .addOption(new Option('--chown <path>', 're-own this tree too after a remap (repeatable)').argParser(collect).default([] as string[], 'none'))
    .addOption(new Option('--group-of <path>', "add the group owning this socket or device to the user's groups (repeatable; env STEPDOWN_GROUP_OF, ':'-separated)").argParser(collect).default([] as string[], 'none'))
    .option('--allow-system-ids', "with --match or --remap: accept the ids of a system account or privileged group; with --group-of: a privileged group (env STEPDOWN_ALLOW_SYSTEM_IDS=1)")
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
      // commander puts its "(Did you mean …?)" hint on a line of its own: keep the message one line
      fail(`${err.message.replace(/^error: /, '').replace(/\n/g, ' ')}; see 'stepdown --help'`);
    }
    throw err;
  }

  return toInvocation(program.opts<ParsedOptions>(), program.args, env);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
