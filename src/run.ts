// The run: resolve the user → (remap it to the volume's owner, or the --remap ids) → drop → verify → exec.
// Deciding is pure (identity/, remap/plan.ts, drop/decide.ts); this file only puts the
// steps in order and hands them what the system says. Nothing of the command runs until exec.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Invocation } from './cli.js';
import { decideDrop, refuseTooManyGroupsEarly, remapRights } from './drop/decide.js';
import { dropAround } from './drop/drop.js';
import { verifyDrop } from './drop/verify.js';
import { type Environ, lookup, targetEnv } from './exec/environ.js';
import { execTarget } from './exec/execve.js';
import { type Found, confirmExecutable, findCommand, realFileSystem } from './exec/lookup.js';
import { addGroupsOf, walkPath } from './identity/group-of.js';
import { type EtcDb, type Identity, resolveIdentity } from './identity/resolve.js';
import { type UserSpec, parseUserSpec } from './identity/user-spec.js';
import { remapUser } from './remap/apply.js';
import type { RemapSource, WantedIds } from './remap/plan.js';
import { StepdownError, errnoCode, fail } from './system/errors.js';
import { readDb } from './system/etc-read.js';
import { tell } from './system/output.js';
import { type ProcStatus, groupsOf, idsOf, readStatus } from './system/proc-status.js';

export type RunInvocation = Extract<Invocation, { kind: 'run' }>;

export async function run(inv: RunInvocation, environ: Environ): Promise<void> {
  let db = readDb();
  const spec = parseUserSpec(inv.spec);
  let status = readStatus(); // the remap changes neither our ids nor our capabilities
  const { remap: ids, match } = inv; // --remap names the ids, --match reads them from a path (not both: invocation.ts)
  if (ids !== undefined || match !== undefined) {
    // a --group-of path that is refused now (missing, gid 0, replaceable) is refused after the
    // remap too: say so before /etc is written
    if (inv.groupOf !== undefined) withGroupsOf(resolveIdentity(spec, db), inv, db, status, environ);
    if (ids !== undefined) db = await remap(inv, () => ids, { remap: ids.text }, spec, db, status, environ);
    else if (match !== undefined) db = await remap(inv, () => ownerOf(match), { match }, spec, db, status, environ);
  }
  // after the remap: re-owning can change the group of a --group-of path
  const target = withGroupsOf(resolveIdentity(spec, db), inv, db, status, environ);

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

/** --match/--remap: give the user the volume's owner's ids (or the ids given) in /etc, re-own its files; the new /etc.
 * wanted is called after the group-count check, so a --match path is examined only then, as before. */
async function remap(inv: RunInvocation, wanted: () => WantedIds, source: RemapSource, spec: UserSpec, db: EtcDb, status: ProcStatus, environ: Environ): Promise<EtcDb> {
  const notice = (line: string) => inv.quiet || tell(line);
  // too many groups is refused before the remap writes anything (membership does not change)
  const rights = remapRights(status);
  if (rights.root) refuseTooManyGroupsEarly(() => resolveIdentity(spec, db));
  return remapUser(spec, wanted(), source, {
    chown: inv.chown,
    ...rights,
    policy: { allowSystemIds: inv.allowSystemIds || envFlag(environ, 'STEPDOWN_ALLOW_SYSTEM_IDS') },
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

/** --group-of: the target plus the groups owning those paths, looked up now (as root, or as the
 * target in a pass-through start, which can only proceed if it holds them already). */
export function withGroupsOf(target: Identity, inv: { groupOf?: string[]; allowSystemIds?: boolean }, db: EtcDb, status: ProcStatus, environ: Environ): Identity {
  if (inv.groupOf === undefined) return target;
  const found = inv.groupOf.map((p) => walkPath(p, process.cwd(), { lstat: (f) => statOf(fs.lstatSync(f)), readlink: (f) => fs.readlinkSync(f) }));
  const held = [...(groupsOf(status) ?? []), ...(idsOf(status, 'Gid')?.slice(1, 2) ?? [])];
  const allowSystemIds = inv.allowSystemIds === true || envFlag(environ, 'STEPDOWN_ALLOW_SYSTEM_IDS');
  return addGroupsOf(target, found, { root: remapRights(status).root, held, group: db.group, allowSystemIds });
}

function statOf(st: fs.Stats) {
  return { uid: st.uid, gid: st.gid, mode: st.mode, isDirectory: st.isDirectory(), isSymbolicLink: st.isSymbolicLink() };
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
