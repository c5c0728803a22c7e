// stepdown: argv → Invocation → print | audit | check | run. Errors are StepdownError values
// carrying an exit code; this file is the one place that prints them (one `stepdown: …` line).
import * as fs from 'node:fs';
import { asksOnlyForVersion, parseCommonArgs } from './cli-fast.js';
import { readOriginal, lookup, refuseAlteredArguments, refuseAlteredEnviron } from './exec/environ.js';
import { checkGroupCount } from './drop/decide.js';
import { formatIdentity } from './identity/format.js';
import { resolveIdentity } from './identity/resolve.js';
import { parseUserSpec } from './identity/user-spec.js';
import { run, withGroupsOf } from './run.js';
import { EXIT_FAILURE, StepdownError, fail } from './system/errors.js';
import { readDb } from './system/etc-read.js';
import { printOut, tell } from './system/output.js';
import { readStatus } from './system/proc-status.js';

declare const STEPDOWN_VERSION: string;

/** Refuse a setuid/setgid install: stepdown steps down, it never steps up. */
function refuseSetuidInstall(): void {
  let mode = 0;
  try {
    mode = fs.statSync(process.execPath).mode;
  } catch {
    // no /proc/self/exe: the real/effective id comparison in decideDrop still catches setuid runs
  }
  if (mode & 0o6000) {
    fail(`${process.execPath} has the ${mode & 0o4000 ? 'setuid' : 'setgid'} bit set; that is unsafe and unsupported: remove it (chmod ug-s) and start the container as root instead`);
  }
}

async function main(argv: string[]): Promise<number | void> {
  const version = `stepdown ${STEPDOWN_VERSION} (node ${process.version})`;
  if (typeof process.execve !== 'function') fail(`${process.execPath} is Node ${process.version}, too old for stepdown (it needs process.execve, Node >= 22.15); use Node 24, or the single executable`);
  // --version runs nothing, so it skips reading and checking the environment (the hand-over or
  // /proc/self/environ): that was most of what it cost beyond loading the bundle
  const original = asksOnlyForVersion(argv) ? { environ: [] } : readOriginal(process.env);
  const environ = original.environ;
  const env = { match: lookup(environ, 'STEPDOWN_MATCH'), remap: lookup(environ, 'STEPDOWN_REMAP'), groupOf: lookup(environ, 'STEPDOWN_GROUP_OF') };
  // commander only for the command lines the hand parser leaves to it (help, errors, --audit)
  const inv = parseCommonArgs(argv, version, env) ?? (await import('./cli.js')).parseArgs(argv, version, env);
  if (inv.kind === 'run' || inv.kind === 'check') {
    // a run: before anything is changed, the command would get other bytes. --check shows what a
    // run gets, so it refuses the same: a user-spec or --group-of path Node decoded to U+FFFD
    // names another user or file than the bytes given
    refuseAlteredArguments(argv);
    refuseAlteredEnviron(original);
  }
  // --audit runs nothing and reports a setuid executable as a failed check instead; its code
  // (tables, patterns, classes) is set up only here, not on every start
  if (inv.kind === 'audit') return (await import('./audit/report.js')).runAudit(inv.json, inv.strict);
  refuseSetuidInstall();
  if (inv.kind === 'print') {
    printOut(inv.text.endsWith('\n') ? inv.text : inv.text + '\n');
    return;
  }
  if (inv.kind === 'check') {
    const db = readDb();
    const user = resolveIdentity(parseUserSpec(inv.spec), db);
    const target = inv.groupOf ? await withGroupsOf(user, inv, db, readStatus(), environ) : user;
    // what a run refuses before the drop, --check refuses too
    checkGroupCount(target, target.userName);
    printOut(formatIdentity(target, db));
    return;
  }
  return run(inv, environ);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code ?? 0),
  (err: unknown) => {
    if (err instanceof StepdownError) {
      tell(err.message);
      process.exit(err.exitCode);
    }
    // a bug: one line still, with where it happened for the report
    const at = err instanceof Error ? /\n\s+at (.*)/.exec(err.stack ?? '')?.[1] : undefined;
    tell(`internal error: ${err instanceof Error ? err.message : String(err)}${at ? ` (at ${at})` : ''}`);
    process.exit(EXIT_FAILURE);
  },
);
