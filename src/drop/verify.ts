// Checks, after the drop and before exec, that the kernel agrees with the plan. Any mismatch
// stops everything: better no app than an app with root's groups or capabilities.
// Uses only lines every kernel (gVisor included) exposes: Uid, Gid, Groups, CapEff; CapPrm,
// and the filesystem uid/gid (the 4th field of Uid/Gid), are checked when present.
import { fail } from '../system/errors.js';
import type { Identity } from '../identity/resolve.js';
import { type ProcStatus, groupsOf, idsOf, maskOf } from '../system/proc-status.js';

/** Pure: the list of problems with the current status for this target; empty when all is well. */
export function verifyStatus(status: ProcStatus, target: Identity): string[] {
  const problems: string[] = [];
  const uids = idsOf(status, 'Uid');
  const gids = idsOf(status, 'Gid');
  // real, effective, saved and (when the kernel shows it) filesystem ids
  if (!uids || uids.slice(0, 4).some((u) => u !== target.uid) || uids.length < 3) {
    problems.push(`uids are [${uids?.join(' ') ?? 'unknown'}], expected ${target.uid}`);
  }
  if (!gids || gids.slice(0, 4).some((g) => g !== target.gid) || gids.length < 3) {
    problems.push(`gids are [${gids?.join(' ') ?? 'unknown'}], expected ${target.gid}`);
  }
  const groups = groupsOf(status);
  const want = sortedUnique(target.groups);
  if (!groups || sortedUnique(groups).join(' ') !== want.join(' ')) {
    problems.push(`groups are [${groups?.join(' ') ?? 'unknown'}], expected [${want.join(' ')}]`);
  }
  if (target.uid !== 0) {
    for (const key of ['CapEff', 'CapPrm', 'CapAmb']) {
      const mask = maskOf(status, key);
      if (mask === undefined && key === 'CapEff') problems.push('CapEff is not readable');
      if (mask !== undefined && mask !== 0n) problems.push(`${key} is ${mask.toString(16)}, expected no capabilities`);
    }
  }
  return problems;
}

function sortedUnique(ids: number[]): number[] {
  return [...new Set(ids)].sort((a, b) => a - b);
}

/** Effects: the status check plus proof that root cannot be regained. Returns the status checked. */
export function verifyDrop(readStatus: () => ProcStatus, target: Identity): ProcStatus {
  const status = readStatus();
  const problems = verifyStatus(status, target);
  if (target.uid !== 0 && canRegain(() => process.setuid!(0))) problems.push('setuid(0) succeeded');
  if (target.uid !== 0 && target.gid !== 0 && canRegain(() => process.setgid!(0))) problems.push('setgid(0) succeeded');
  if (problems.length > 0) {
    fail(`refusing to run the command: after dropping privileges ${problems.join('; ')}`);
  }
  return status;
}

function canRegain(attempt: () => void): boolean {
  try {
    attempt();
    return true;
  } catch {
    return false;
  }
}
