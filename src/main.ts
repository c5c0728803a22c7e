// stepdown: plan (pure), then act (drop, verify, exec). Every failure becomes one line on
// stderr and an exit code, and nothing is run.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { audit } from './audit.js';
import { formatJson, formatTable } from './audit-format.js';
import { readAuditInput } from './audit-read.js';
import { parseArgs } from './cli.js';
import { type Found, confirmExecutable, findCommand, realFileSystem } from './command.js';
import { decideDrop, dropAround, refuseTooManyGroupsEarly } from './drop.js';
import { EXIT_FAILURE, StepdownError, errnoCode, fail, printable } from './errors.js';
import { namesById } from './etc-files.js';
import { readDb } from './etc-read.js';
import { type EtcDb, type Identity, resolveIdentity } from './identity.js';
import { execTarget } from './exec.js';
import { type Environ, lookup, readOriginal, refuseAlteredArguments, refuseAlteredEnviron, targetEnv } from './environ.js';
import { CAP_CHOWN, hasBit, maskOf, parseProcStatus, type ProcStatus } from './proc-status.js';
import { parseUserSpec } from './user-spec.js';
import { remapUser } from './remap-apply.js';
import { isTerminal } from './terminal.js';
import { verifyDrop } from './verify.js';

declare const STEPDOWN_VERSION: string;


export function readStatus(): ProcStatus {
  try {
    return parseProcStatus(fs.readFileSync('/proc/self/status', 'utf8'));
  } catch (err) {
    fail(`cannot read /proc/self/status (${errnoCode(err) ?? String(err)}); stepdown needs /proc mounted`);
  }
}

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

/** The owner of the --match path itself. A symlink there is refused, never followed: whoever can
 * write the directory holding it (the app, in a volume it owns) could point it at a file of any
 * account and so choose the ids the user gets. path.resolve drops a trailing '/', which would
 * make lstat follow the link. */
function ownerOf(file: string): { uid: number; gid: number } {
  try {
    const st = fs.lstatSync(path.resolve(file));
    if (st.isSymbolicLink()) {
      fail(`--match ${file} is a symbolic link; a remap takes its owner from the path itself, never from where a link points (it could be changed to point anywhere): name the mount point, or the directory it leads to`);
    }
    return { uid: st.uid, gid: st.gid };
  } catch (err) {
    if (err instanceof StepdownError) throw err;
    fail(`--match ${file}: ${errnoCode(err) === 'ENOENT' ? 'no such file or directory; mount the volume there, or leave out --match' : (errnoCode(err) ?? String(err))}`);
  }
}

export function formatIdentity(id: Identity, db: EtcDb): string {
  const groupNames = namesById(db.group);
  const named = (n: number, name: string | undefined) => (name ? `${n}(${name})` : `${n}`);
  return (
    `uid=${named(id.uid, id.userName)} gid=${named(id.gid, groupNames.get(id.gid))} ` +
    `groups=${id.groups.map((g) => named(g, groupNames.get(g))).join(',')} home=${id.home}\n`
  );
}

/** All of text to fd, however the pipe takes it: partial writes, and EAGAIN if someone else left
 * the descriptor non-blocking. Never process.stdout/stderr: they would leave stdio O_NONBLOCK. */
function say(fd: number, text: string): void {
  let buf = Buffer.from(text);
  while (buf.length > 0) {
    try {
      buf = buf.subarray(fs.writeSync(fd, buf));
    } catch (err) {
      if (errnoCode(err) !== 'EAGAIN') throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

/** --audit: report, run nothing. Exit 1 only for --strict with a failed restricted check. */
function runAudit(json: boolean, strict: boolean): number {
  const report = audit(readAuditInput());
  if (json) say(1, formatJson(report));
  else {
    const columns = Number(process.env.COLUMNS);
    const colour = isTerminal(1) && process.env.NO_COLOR === undefined;
    say(1, formatTable(report, { colour, width: Number.isInteger(columns) && columns > 0 ? columns : 120 }));
  }
  return strict && report.strictFailed ? 1 : 0;
}

function envFlag(environ: Environ, name: string): boolean {
  const v = lookup(environ, name);
  if (v === undefined || v === '' || v === '0') return false;
  if (v === '1') return true;
  fail(`${name}=${JSON.stringify(v)}: use 1 to turn it on, 0 or unset for off`);
}

/** Timings only the tests change (a wait or a threshold that must not depend on machine speed). */
function testKnob(environ: Environ, name: string): number | undefined {
  const v = lookup(environ, name);
  return v !== undefined && /^[0-9]{1,7}$/.test(v) ? Number(v) : undefined;
}

async function main(argv: string[]): Promise<number | void> {
  const version = `stepdown ${STEPDOWN_VERSION} (node ${process.version})`;
  if (typeof process.execve !== 'function') fail(`${process.execPath} is Node ${process.version}, too old for stepdown (it needs process.execve, Node >= 22.15); use Node 24, or the single executable`);
  const original = readOriginal(process.env);
  const environ = original.environ;
  const inv = parseArgs(argv, lookup(environ, 'STEPDOWN_MATCH'), version);
  if (inv.kind === 'run') {
    refuseAlteredArguments(argv); // before anything is changed: the command would get other bytes
    refuseAlteredEnviron(original);
  }
  // --audit runs nothing and reports a setuid executable as a failed check instead
  if (inv.kind === 'audit') return runAudit(inv.json, inv.strict);
  refuseSetuidInstall();
  if (inv.kind === 'print') {
    say(1, inv.text.endsWith('\n') ? inv.text : inv.text + '\n');
    return;
  }
  let db = readDb();
  const spec = parseUserSpec(inv.spec);
  if (inv.kind === 'check') {
    say(1, formatIdentity(resolveIdentity(spec, db), db));
    return;
  }
  let status = readStatus(); // the remap changes neither our ids nor our capabilities
  if (inv.match !== undefined) {
    const notice = (line: string) => inv.quiet || tell(line);
    // too many groups is refused before the remap writes anything (membership does not change)
    if (process.geteuid!() === 0) refuseTooManyGroupsEarly(() => resolveIdentity(spec, db));
    const capEff = maskOf(status, 'CapEff');
    db = await remapUser(spec, ownerOf(inv.match), inv.match, {
      chown: inv.chown,
      canChown: capEff === undefined || hasBit(capEff, CAP_CHOWN),
      root: process.geteuid!() === 0,
      policy: { allowSystemIds: inv.allowSystemIds || envFlag(environ, 'STEPDOWN_ALLOW_SYSTEM_IDS') },
      notice,
      readDb,
      lockWaitMs: testKnob(environ, 'STEPDOWN_TEST_LOCK_WAIT_MS') ?? 30_000,
      progressAfterMs: testKnob(environ, 'STEPDOWN_TEST_PROGRESS_AFTER_MS') ?? 1000,
    });
  }
  const target = resolveIdentity(spec, db);

  const env = targetEnv(environ, target.home);
  const [name, ...args] = inv.command as [string, ...string[]];
  let found: Found;
  if (decideDrop(status, target) === 'drop') {
    // the command is found and checked with the target's rights, before the drop is final
    found = dropAround(target, (asRoot) => findCommand(name, env.PATH, realFileSystem({ as: target, asRoot })));
    status = verifyDrop(readStatus, target);
  } else {
    found = findCommand(name, env.PATH, realFileSystem());
  }
  confirmExecutable(found.chain);
  execTarget(found, [name, ...args], env, status);
}

/** stepdown's own messages on stderr are best-effort: a closed or broken stderr (EPIPE, EBADF)
 * never changes what runs or the exit status. Control characters are escaped: one line each. */
function tell(line: string): void {
  try {
    say(2, `stepdown: ${printable(line)}\n`);
  } catch {
    // nobody is listening
  }
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
