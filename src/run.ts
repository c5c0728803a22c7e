// The run: resolve the user → (remap it to the volume's owner, or the --remap ids) → drop → verify → exec.
// Deciding is pure (identity/, remap/plan.ts, drop/decide.ts); this file only puts the
// steps in order and hands them what the system says. Nothing of the command runs until exec.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Invocation } from './cli.js';
import { checkGroupCount, decideDrop, refuseTooManyGroupsEarly, remapRights } from './drop/decide.js';
import { dropAround } from './drop/drop.js';
import { verifyDrop } from './drop/verify.js';
import { type Environ, lookup, targetEnv } from './exec/environ.js';
import { execTarget } from './exec/execve.js';
import { type Found, confirmExecutable, findCommand, realFileSystem } from './exec/lookup.js';
import { type EtcDb, type Identity, resolveIdentity } from './identity/resolve.js';
import { type UserSpec, parseUserSpec } from './identity/user-spec.js';
// --match/--remap and --group-of are imported where they are used: the bundle then sets up their
// modules (and re-owning's, /etc writing's, locking's) only for a run that asks for them.
import type { RemapPolicy, RemapSource, WantedIds } from './remap/plan.js';
import { StepdownError, errnoCode, fail } from './system/errors.js';
import { readDb } from './system/etc-read.js';
import { absolutePath, workingDirectory } from './system/working-directory.js';
import { tell } from './system/output.js';
import { type ProcStatus, groupsOf, idsOf, readStatus } from './system/proc-status.js';

export type RunInvocation = Extract<Invocation, { kind: 'run' }>;

export async function run(inv: RunInvocation, environ: Environ): Promise<void> {
  let db = readDb();
  const spec = parseUserSpec(inv.spec);
  let status = readStatus(); // the remap changes neither our ids nor our capabilities
  const { remap: ids, match } = inv; // --remap names the ids, --match reads them from a path (not both: invocation.ts)
  if (ids !== undefined || match !== undefined) {
    const source: RemapSource = ids !== undefined ? { remap: ids.text } : { match: match! };
    // the --match path is looked at once: the pre-check and the remap must judge the same ids
    let owner: WantedIds | undefined;
    const wanted = () => (owner ??= ids ?? ownerOf(match!));
    if (inv.groupOf !== undefined) await checkGroupsOfBeforeRemap(inv, wanted(), source, spec, db, status, environ);
    db = await remap(inv, wanted, source, spec, db, status, environ);
  }
  // after the remap: re-owning can change the group of a --group-of path
  const target = await withGroupsOf(resolveIdentity(spec, db), inv, db, status, environ);

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

/** Every refusal --group-of can give after the remap is given now, before /etc is written: the
 * identity judged is the one the planned /etc gives the user (its new ids and groups). The
 * directory rule depends on no one's ids, re-owning moves a directory only from the user's old
 * ids to its new ones (never to or from root's), and a file's group changes only from the
 * user's old gid to its new one (which it holds afterwards); so a path refused later is refused
 * here. The reverse does not quite hold: a file of the user's old gid in a tree the remap
 * re-owns, reached through a directory not root's alone (say the user's home), is refused here
 * though it would be the user's own group afterwards. A planning refusal is left to the remap, which
 * gives the same one. */
async function checkGroupsOfBeforeRemap(inv: RunInvocation, owner: WantedIds, source: RemapSource, spec: UserSpec, db: EtcDb, status: ProcStatus, environ: Environ): Promise<void> {
  const { planRemap } = await import('./remap/plan.js');
  let after: EtcDb;
  try {
    const plan = planRemap(spec, db, owner, source, remapPolicy(inv, environ));
    after = { passwd: plan.passwd ?? db.passwd, group: plan.group ?? db.group };
  } catch (err) {
    if (err instanceof StepdownError) return;
    throw err;
  }
  const target = await withGroupsOf(resolveIdentity(spec, after), inv, after, status, environ);
  // the added gids count towards NGROUPS_MAX: refused now, not after /etc is written
  if (remapRights(status).root) checkGroupCount(target, target.userName);
}

/** --match/--remap: give the user the volume's owner's ids (or the ids given) in /etc, re-own its files; the new /etc.
 * Without --group-of, wanted is first called after the group-count check, so a --match path is examined only then. */
async function remap(inv: RunInvocation, wanted: () => WantedIds, source: RemapSource, spec: UserSpec, db: EtcDb, status: ProcStatus, environ: Environ): Promise<EtcDb> {
  const notice = (line: string) => inv.quiet || tell(line);
  // too many groups is refused before the remap writes anything (membership does not change)
  const rights = remapRights(status);
  if (rights.root) refuseTooManyGroupsEarly(() => resolveIdentity(spec, db));
  const { remapUser } = await import('./remap/apply.js');
  return remapUser(spec, wanted(), source, {
    chown: inv.chown,
    ...rights,
    policy: remapPolicy(inv, environ),
    notice,
    readDb,
    lockWaitMs: testKnob(environ, 'STEPDOWN_TEST_LOCK_WAIT_MS') ?? 30_000,
    progressAfterMs: testKnob(environ, 'STEPDOWN_TEST_PROGRESS_AFTER_MS') ?? 1000,
  });
}

/** The owner of the --match path itself. A symlink there is refused, never followed: whoever can
 * write the directory holding it (the app, in a volume it owns) could point it at a file of any
 * account and so choose the ids the user gets. path.resolve drops a trailing '/', which would
 * make lstat follow the link. */
function ownerOf(file: string): { uid: number; gid: number } {
  try {
    const st = fs.lstatSync(path.resolve(absolutePath(`--match ${file}`, file)));
    if (st.isSymbolicLink()) {
      fail(`--match ${file} is a symbolic link; a remap takes its owner from the path itself, never from where a link points (it could be changed to point anywhere): name the mount point, or the directory it leads to`);
    }
    return { uid: st.uid, gid: st.gid };
  } catch (err) {
    if (err instanceof StepdownError) throw err;
    fail(`--match ${file}: ${errnoCode(err) === 'ENOENT' ? 'no such file or directory; mount the volume there, or leave out --match' : (errnoCode(err) ?? String(err))}`);
  }
}

/** --group-of: the target plus the groups owning those paths, looked up now (as root, or as the
 * target in a pass-through start, which can only proceed if it holds them already). A process
 * that is neither gets decideDrop's refusal, as it would without --group-of. */
export async function withGroupsOf(target: Identity, inv: { groupOf?: string[]; groupOfFromEnv?: true; allowSystemIds?: boolean }, db: EtcDb, status: ProcStatus, environ: Environ): Promise<Identity> {
  if (inv.groupOf === undefined) return target;
  const { addGroupsOf, walkPath } = await import('./identity/group-of.js');
  const root = remapRights(status).root;
  if (!root) decideDrop(status, target);
  const procDev = deviceOf('/proc');
  const fsx = { lstat: (f: string) => statOf(fs.lstatSync(f), procDev), readlink: (f: string) => fs.readlinkSync(f, { encoding: 'buffer' }) };
  const found = inv.groupOf.map((p) => {
    const what = inv.groupOfFromEnv ? `STEPDOWN_GROUP_OF path ${p}` : `--group-of ${p}`;
    return walkPath(p, p.startsWith('/') ? '/' : workingDirectory(what), fsx, what);
  });
  const held = [...(groupsOf(status) ?? []), ...(idsOf(status, 'Gid')?.slice(1, 2) ?? [])];
  return addGroupsOf(target, found, { root, held, group: db.group, allowSystemIds: allowsSystemIds(inv, environ) });
}

function statOf(st: fs.Stats, procDev: number | undefined) {
  return { uid: st.uid, gid: st.gid, mode: st.mode, isDirectory: st.isDirectory(), isSymbolicLink: st.isSymbolicLink(), isProcfs: st.dev === procDev };
}

/** The device of the proc filesystem (undefined without one): a --group-of walk refuses to enter it. */
function deviceOf(file: string): number | undefined {
  try {
    return fs.lstatSync(file).dev;
  } catch {
    return undefined;
  }
}

function remapPolicy(inv: RunInvocation, environ: Environ): RemapPolicy {
  return { allowSystemIds: allowsSystemIds(inv, environ) };
}

/** --allow-system-ids or STEPDOWN_ALLOW_SYSTEM_IDS=1: one opt-in for --match, --remap and --group-of. */
function allowsSystemIds(inv: { allowSystemIds?: boolean }, environ: Environ): boolean {
  return inv.allowSystemIds === true || envFlag(environ, 'STEPDOWN_ALLOW_SYSTEM_IDS');
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
