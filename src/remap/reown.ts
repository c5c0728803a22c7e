// Re-owns file trees after a uid/gid remap: every entry under each root whose uid is `from.uid`
// gets `to.uid`, and independently every entry whose gid is `from.gid` gets `to.gid` (requiring
// both to match, as fixuid does, would strand olduid:othergid files).
//
// Rules, and why:
// - The walk works inside each directory it visits: it chdirs into it and lstats, lchowns and
//   lists entries by their own name. Node has no fstatat/fchownat/fchdir, and a full path per
//   entry fails past PATH_MAX (a tree can be deeper than any path the kernel accepts, as
//   `chown -R` handles), costs a lookup of every component, and lets a directory swapped for a
//   symlink anywhere above redirect the call. So: after entering a directory (and after every
//   `..` back out) the walk checks that '.' has the dev/ino it lstat'ed; a mismatch means the tree
//   changed under it: that directory is reported, not walked, and the walk climbs back to where it
//   was by dev/ino-checked steps from the root. process.chdir takes only strings: a directory
//   whose name is not UTF-8 is entered through an O_PATH|O_NOFOLLOW fd and /proc/self/fd/<fd>
//   (without /proc such a directory is reported, not walked).
// - The process cwd is the caller's whenever the walk is not running: it is put back before every
//   turn of the event loop, on return, on abort and on error (through an O_PATH fd of the caller's
//   cwd if its path no longer leads there), and the walk re-enters where it was afterwards. The
//   exec'd program inherits the cwd; signal handlers and timers never see a foreign one.
// - lchown only: a symlink is re-owned itself, its target never. A root that is a symlink is
//   re-owned and not followed.
// - Never leave the root's filesystem. An entry whose st_dev differs from the root's, or whose
//   path is a mount point (bind mounts share st_dev, so /proc/self/mountinfo is read too, or the
//   caller's `mounts` list), is neither re-owned nor descended. A root that is itself a mount
//   point is walked: listing a volume explicitly is how a caller asks for it.
// - chown(2) clears S_ISUID/S_ISGID on regular files (and drops file capabilities, which we can
//   not restore: Node has no xattr API). Such files are re-owned through an O_NOFOLLOW fd whose
//   dev/ino is checked against the lstat, and their original mode is put back with fchmod; no
//   bit that was not there is ever added. Always synchronously: they are few.
// - Per-entry failures (EACCES, ENOENT from races, a directory that cannot be entered, ...) go to
//   `errors`, and the walk continues; an entry is reported only if it did not end up re-owned with
//   its mode intact (or, for a directory, walked). A root that does not exist is skipped silently. A root resolving to
//   `/` throws.
// - Synchronous calls in slices of SLICE_MS, after each of which the event loop turns
//   (setImmediate) so signal handlers, timers and the abort run: on a local file system an lstat
//   or a chown costs less than a hand-off to libuv's threadpool. Where chown is slow (overlayfs
//   copies the file up on every chown of an image file; FUSE; network file systems: SLOW_FS, by
//   statfs f_type of the root), or if the first 256 synchronous chowns averaged more than
//   SLOW_CHOWN_MS, chowns of entries that are not set-id go to the threadpool instead,
//   POOL_IN_FLIGHT at a time, so copy-ups run in parallel and a large one never holds the main
//   thread. A pooled chown cannot use a name relative to the cwd (the walk moves on while it
//   waits in the pool) nor a full path (see above): it names the entry as
//   /proc/self/fd/<O_PATH fd of its directory>/<name>, which the kernel resolves through the open
//   directory itself. Without /proc, chowns stay synchronous. UV_THREADPOOL_SIZE is left alone
//   (it only works before anything used the pool, and leaks into the exec'd program's
//   environment). Memory: the names of the directories on the current path; fds: one per
//   directory with pooled chowns in flight.
// - Abort: once `signal` aborts, no new operation starts; the walk notices at the end of the
//   current slice (at most ~SLICE_MS plus one entry). Pooled chowns already handed to the kernel
//   get up to ABORT_GRACE_MS to land, then the promise REJECTS with a ReownAbortedError (name
//   'AbortError', code 'ABORT_ERR', `cause` = signal.reason) whose `partial` holds the counts so
//   far.
// - onProgress is called between two slices (with the caller's cwd), at most every
//   progressEveryMs (never at the end: the result carries the final counts). If it throws, the
//   walk stops and rejects with it.
// - scanned counts entries whose ownership was examined (lstat succeeded, not across a mount);
//   changed counts successful re-owns. If from equals to, nothing can change: no walk at all.
// - Never prints, never touches process.stdout/stderr/stdin (O_NONBLOCK would leak past exec).
//
// Known limit: between the lstat of an entry and its lchown, another process that owns the tree
// could replace the entry (a hard link to someone else's file, where protected_hardlinks is off).
// At container start nothing else runs in the tree; do not run this against a tree being modified.
// Split by job under reown/: types.ts (request, result, tuning, ReownAbortedError), walk.ts
// (the walk, its time slices and mount filtering), chowns.ts (sync or pooled chowns, set-id files),
// dir-ops.ts (entering, listing and checking directories; the caller's cwd), tally.ts (counts).
import * as path from 'node:path';
import { readMountPoints } from './mount-points.js';
import { Cwd } from './reown/dir-ops.js';
import type { ReownOptions, ReownRequest, ReownResult, ReownTuning } from './reown/types.js';
import { Walk } from './reown/walk.js';

export { mountKey, parseMountInfo, readMountPoints } from './mount-points.js';
export { type ReownOptions, type ReownProgress, type ReownRequest, type ReownResult, type ReownTuning, ReownAbortedError } from './reown/types.js';

export function reownTrees(req: ReownRequest, opts: ReownOptions = {}): Promise<ReownResult> {
  return reownTreesTuned(req, opts, {});
}

/** reownTrees with the strategy as a parameter (see ReownTuning). */
export async function reownTreesTuned(
  req: ReownRequest,
  opts: ReownOptions,
  tuning: ReownTuning,
): Promise<ReownResult> {
  for (const id of [req.from.uid, req.from.gid, req.to.uid, req.to.gid]) {
    if (!Number.isInteger(id) || id < 0 || id >= 0xffffffff) throw new RangeError(`invalid id ${id}`);
  }
  for (const root of req.roots) if (path.resolve(root) === '/') throw new Error('refusing to re-own "/"');
  const w = new Walk(req, opts, tuning);
  if (req.from.uid !== req.to.uid || req.from.gid !== req.to.gid) {
    const mounts = opts.mounts ? opts.mounts.map((m) => path.resolve(m)) : readMountPoints();
    const home = new Cwd();
    try {
      for (const given of req.roots) {
        const root = w.canonicalRoot(given);
        if (root !== undefined) await w.tree(root, mounts, home);
      }
    } finally {
      home.close();
    }
  }
  return w.result();
}
