// Becomes the target identity: setgroups → setgid → seteuid, then setuid for good (in that
// order: after setuid we could no longer change groups). Whether a drop is needed and possible
// is decided before, in decide.ts.
import { fail, errnoCode } from '../system/errors.js';
import type { Identity } from '../identity/resolve.js';
import { ids } from './decide.js';

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
