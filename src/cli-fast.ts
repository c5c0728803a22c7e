// The command lines nearly every container start uses, parsed by hand so that those starts
// never load commander: `--version`, and `[options] <user-spec> [--] <command> [args...]` with
// only --match/--chown/--group-of <path>, --remap <ids> (separate argument), --allow-system-ids, -q/--quiet and --check.
// Anything else (help, --audit, `--opt=value`, bundled short flags, an unknown or misplaced
// option, a missing value) returns undefined and goes to commander in cli.ts, which stays the
// definition; on what this accepts the two give the same Invocation or the same error (tested).
import { type Invocation, type OptionEnv, type ParsedOptions, toInvocation } from './invocation.js';

/** `stepdown --version` (or -V) alone: the one command line that needs no environment at all. */
export function asksOnlyForVersion(argv: string[]): boolean {
  return argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V');
}

export function parseCommonArgs(argv: string[], version: string, env: OptionEnv = {}): Invocation | undefined {
  if (asksOnlyForVersion(argv)) return { kind: 'print', text: version + '\n' };
  const opts: ParsedOptions = { chown: [], groupOf: [] };
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) break; // the user-spec: options end here, as with passThroughOptions
    if (arg === '--match' || arg === '--chown' || arg === '--remap' || arg === '--group-of') {
      const value = argv[++i];
      // commander would take a value that looks like an option too; leave such lines to it
      if (value === undefined || value.startsWith('-')) return undefined;
      if (arg === '--match') opts.match = value;
      else if (arg === '--remap') opts.remap = value;
      else if (arg === '--chown') opts.chown = [...opts.chown, value];
      else opts.groupOf = [...opts.groupOf, value];
    } else if (arg === '--allow-system-ids') opts.allowSystemIds = true;
    else if (arg === '-q' || arg === '--quiet') opts.quiet = true;
    else if (arg === '--check') opts.check = true;
    else return undefined;
  }
  if (i === argv.length) return undefined; // no user-spec: commander says what is missing
  return toInvocation(opts, argv.slice(i), env);
}
