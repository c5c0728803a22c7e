// Every precondition on who this process is and what it may do, decided from the kernel's view
// (/proc/self/status, read once by run.ts) and never from process.geteuid: whether a remap may
// rewrite /etc and re-own files (root, CAP_CHOWN), whether a drop is needed and possible (root
// with CAP_SETUID and CAP_SETGID), and what an already-dropped start must not have inherited.
// Pure: a refusal happens with nothing changed.
import { fail } from '../system/errors.js';
import type { Identity } from '../identity/resolve.js';
import { CAP_CHOWN, CAP_SETGID, CAP_SETUID, type ProcStatus, groupsOf, hasBit, idsOf, maskOf } from '../system/proc-status.js';

export type DropDecision = 'drop' | 'already-target';

export function ids(uid: number, gid: number): string {
  return `uid ${uid} gid ${gid}`;
}

/** Pure: what to do given the current process status and the target. */
export function decideDrop(status: ProcStatus, target: Identity): DropDecision {
  const [[ruid, euid, suid], [rgid, egid, sgid]] = realEffectiveSaved(status);
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

/** Real, effective and saved uids and gids, or the refusal when /proc does not show them. */
function realEffectiveSaved(status: ProcStatus): [[number, number, number], [number, number, number]] {
  const uids = idsOf(status, 'Uid');
  const gids = idsOf(status, 'Gid');
  if (!uids || !gids || uids.length < 3 || gids.length < 3) fail('cannot read Uid/Gid from /proc/self/status; is /proc mounted?');
  return [uids as [number, number, number], gids as [number, number, number]];
}

/** What a remap may do: only root rewrites /etc and re-owns files, and re-owning needs CAP_CHOWN. */
export interface RemapRights {
  root: boolean;
  /** an unreadable CapEff (a kernel that hides it) counts as held; the chown itself then says */
  canChown: boolean;
}

/** Pure: the remap's rights from the status (the effective uid as the kernel shows it). */
export function remapRights(status: ProcStatus): RemapRights {
  const [[, euid]] = realEffectiveSaved(status);
  const capEff = maskOf(status, 'CapEff');
  return { root: euid === 0, canChown: capEff === undefined || hasBit(capEff, CAP_CHOWN) };
}
