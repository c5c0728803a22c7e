// Becomes the target identity: setgroups → setgid → seteuid, then setuid for good (in that
// order: after setuid we could no longer change groups). Before touching anything, decide from
// the kernel's view of this process whether a drop is needed and possible, so a refusal happens
// with nothing changed.
import { fail, errnoCode } from '../system/errors.js';
import type { Identity } from '../identity/resolve.js';
import { CAP_SETGID, CAP_SETUID, type ProcStatus, groupsOf, hasBit, idsOf, maskOf } from '../system/proc-status.js';

export type DropDecision = 'drop' | 'already-target';

function ids(uid: number, gid: number): string {
  return `uid ${uid} gid ${gid}`;
}

/** Pure: what to do given the current process status and the target. */
export function decideDrop(status: ProcStatus, target: Identity): DropDecision {
  const uids = idsOf(status, 'Uid');
  const gids = idsOf(status, 'Gid');
  if (!uids || !gids || uids.length < 3 || gids.length < 3) fail('cannot read Uid/Gid from /proc/self/status; is /proc mounted?');
  const [ruid, euid, suid] = uids as [number, number, number];
  const [rgid, egid, sgid] = gids as [number, number, number];
  if (ruid !== euid || rgid !== egid) {
    fail('real and effective ids differ (setuid/setgid execution); stepdown only steps down from a plain root start');
  }
  if (euid === 0) {
    const capEff = maskOf(status, 'CapEff');
    if (capEff !== undefined) {
      const missing = [
        [CAP_SETGID, 'SETGID'],
        [CAP_SETUID, 'SETUID'],
      ].filter(([bit]) => !hasBit(capEff, bit as number)).map(([, name]) => name as string);
      if (missing.length > 0) {
        const caps = missing.map((n) => `CAP_${n}`).join(' and ');
        fail(
          `running as root without ${caps}, so the user cannot be changed; ` +
            `add it back (docker run --cap-add ${missing.join(' --cap-add ')}; Kubernetes securityContext.capabilities.add: [${missing.join(', ')}])`,
        );
      }
    }
    checkGroupCount(target, target.userName);
    return 'drop';
  }
  if (ruid === target.uid && euid === target.uid && suid === target.uid && rgid === target.gid && egid === target.gid && sgid === target.gid) {
    refuseInheritedPrivilege(status, target);
    return 'already-target';
  }
  fail(
    `running as ${ids(euid, egid)}, not root, so cannot become ${ids(target.uid, target.gid)}; ` +
      `start the container as root, or run it as ${ids(target.uid, target.gid)} (docker run --user ${target.uid}:${target.gid})`,
  );
}

/**
 * Pure: already the target, so nothing will be dropped and the command inherits what this
 * process holds. A non-root target must not hold capabilities (effective, permitted or
 * ambient: any of them lets the command setuid(0) or keep root's powers) nor root's group 0
 * unless the target's own gid or group list has it. Other inherited supplementary groups stay
 * (Kubernetes supplementalGroups and fsGroup add them on purpose, and a non-root process cannot
 * change them). The filesystem ids must be the target's as after a drop.
 */
export function refuseInheritedPrivilege(status: ProcStatus, target: Identity): void {
  if (target.uid === 0) return;
  const who = ids(target.uid, target.gid);
  const fsUid = idsOf(status, 'Uid')?.[3];
  const fsGid = idsOf(status, 'Gid')?.[3];
  if ((fsUid !== undefined && fsUid !== target.uid) || (fsGid !== undefined && fsGid !== target.gid)) {
    fail(`already running as ${who} but with filesystem uid ${fsUid} gid ${fsGid}; start the container as root, or as ${who} only`);
  }
  const held = (['CapEff', 'CapPrm', 'CapAmb'] as const)
    .map((key) => [key, maskOf(status, key)] as const)
    .filter(([key, mask]) => (mask === undefined ? key === 'CapEff' : mask !== 0n));
  if (held.length > 0) {
    const what = held.map(([key, mask]) => (mask === undefined ? `${key} unreadable` : `${key} ${mask.toString(16)}`)).join(', ');
    fail(
      `already running as ${who} but with capabilities (${what}), which the command would inherit and could use to become root; ` +
        `drop them (docker run --cap-drop ALL; Kubernetes securityContext.capabilities.drop: [ALL]) or start the container as root`,
    );
  }
  const groups = groupsOf(status);
  if (groups === undefined) fail('cannot read Groups from /proc/self/status; is /proc mounted?');
  if (groups.includes(0) && target.gid !== 0 && !target.groups.includes(0)) {
    fail(
      `already running as ${who} but in root's group 0, which the command would inherit; ` +
        `remove gid 0 from the supplementary groups (docker run --group-add, Kubernetes supplementalGroups) or start the container as root`,
    );
  }
}

/** The kernel's limit on supplementary groups (NGROUPS_MAX, fixed since Linux 2.6.4). */
export const NGROUPS_MAX = 65536;

/** Pure: refuses a group list setgroups(2) would reject, before anything is changed. */
export function checkGroupCount(target: Identity, name: string | undefined, max = NGROUPS_MAX): void {
  const count = new Set(target.groups).size;
  if (count <= max) return;
  const who = name === undefined ? `uid ${target.uid}` : `user '${name}'`;
  fail(
    `${who} is in ${count} groups, more than the ${max} supplementary groups Linux allows (NGROUPS_MAX); ` +
      `remove the user from groups in /etc/group, or name one group (${name ?? target.uid}:group) to run with that group alone`,
  );
}

/**
 * The same refusal before a remap rewrites /etc: the remap changes ids, not memberships. A spec
 * that resolves only after the remap is left to the check in decideDrop.
 */
export function refuseTooManyGroupsEarly(resolve: () => Identity): void {
  let target: Identity;
  try {
    target = resolve();
  } catch {
    return;
  }
  checkGroupCount(target, target.userName);
}

/**
 * Becomes the target in two steps with `during` in the middle. First setgroups, setgid and
 * seteuid(target): from then on the kernel resolves paths and opens files with the target's
 * rights (the filesystem uid follows the effective uid), while `asRoot` can still borrow root
 * to read a file the target may execute but not read. Then seteuid(0) and setuid(target),
 * which from euid 0 sets the real, effective and saved uid for good. If `during` throws, the
 * error ends the process before anything runs; the caller verifies the final state.
 */
export function dropAround<T>(target: Identity, during: (asRoot: <R>(fn: () => R) => R) => T): T {
  try {
    process.setgroups!([...new Set(target.groups)]);
  } catch (err) {
    fail(`setgroups failed (${errnoCode(err) ?? String(err)}): ${groupsHint(err)}`);
  }
  try {
    process.setgid!(target.gid);
    process.seteuid!(target.uid);
  } catch (err) {
    fail(`changing to ${ids(target.uid, target.gid)} failed: ${errnoCode(err) ?? String(err)}`);
  }
  const asRoot = <R>(fn: () => R): R => {
    process.seteuid!(0);
    try {
      return fn();
    } finally {
      process.seteuid!(target.uid);
    }
  };
  const result = during(asRoot);
  try {
    process.seteuid!(0);
    process.setuid!(target.uid);
  } catch (err) {
    fail(`changing to ${ids(target.uid, target.gid)} failed: ${errnoCode(err) ?? String(err)}`);
  }
  return result;
}

function groupsHint(err: unknown): string {
  if (errnoCode(err) !== 'EPERM') return 'the supplementary groups could not be set';
  return 'not permitted; in a user namespace where /proc/self/setgroups is "deny" stepdown cannot drop groups safely, so it stops here';
}
