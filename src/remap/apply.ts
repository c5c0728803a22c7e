// Carries out a remap as root. When the files show work to do (a restart usually finds none,
// and then nothing is locked or written), under the /etc lock (system/etc-lock.ts): re-read
// /etc/passwd and /etc/group (another start may have just done the job), plan, stage the new files as temp
// files (a full disk or an unwritable /etc is found before anything changes), re-own the
// user's home and the --chown trees, then put /etc/group and then /etc/passwd in place.
//
// That order means an interruption loses nothing: until /etc/passwd is written the user still
// has its old ids, and a re-run plans the same remap and finishes the walk. If an entry that
// still exists could not be re-owned, neither file is written: the start fails (125) and the
// next one retries. SIGTERM/SIGINT (a `docker stop` while stepdown is still PID 1) abort the
// wait or the walk and end stepdown with 143/130; the command is not run.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isTerminal } from '../system/terminal.js';
import { type StagedWrite, commit, discard, removeStaleTemps, stage } from '../system/atomic-write.js';
import { StepdownError, errnoCode, fail } from '../system/errors.js';
import { clearStaleLocks, lockEtc } from '../system/etc-lock.js';
import { toBytes } from '../system/etc-files.js';
import type { EtcDb } from '../identity/resolve.js';
import { type RemapPlan, type RemapPolicy, type RemapSource, type WantedIds, changes, planRemap } from './plan.js';
import { type ReownResult, ReownAbortedError, readMountPoints, reownTrees } from './reown.js';
import type { UserSpec } from '../identity/user-spec.js';
import type { RemapRights } from '../drop/decide.js';

/** root and canChown come from drop/decide.ts: only root rewrites /etc and re-owns files (anyone
 * else can only already be that user), and without CAP_CHOWN the walk would fail on every entry. */
export interface RemapOptions extends RemapRights {
  chown: string[];
  policy: RemapPolicy;
  notice: (line: string) => void;
  readDb: () => EtcDb;
  /** how long to wait for another process's /etc lock */
  lockWaitMs: number;
  /** progress on a terminal once a walk has run this long; tests set 0 */
  progressAfterMs: number;
}

const MAX_ERRORS_SHOWN = 5;
const PASSWD = '/etc/passwd';
const GROUP = '/etc/group';

/** Remaps spec's user to owner (see plan.ts) and returns the /etc to resolve the user against. */
export async function remapUser(spec: UserSpec, owner: WantedIds, source: RemapSource, opts: RemapOptions): Promise<EtcDb> {
  // a restart usually finds the job done: then nothing is locked or written
  const first = opts.readDb();
  const unlocked = planRemap(spec, first, owner, source, opts.policy);
  if (!opts.root || !changes(unlocked)) {
    if (opts.root) clearStaleLocks([PASSWD, GROUP]);
    unlocked.notices.forEach(opts.notice);
    return planned(first, unlocked);
  }
  const stop = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => stop.abort(sig);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const lock = await lockEtc([PASSWD, GROUP], { waitMs: opts.lockWaitMs, notice: opts.notice, signal: stop.signal });
  try {
    const db = opts.readDb(); // again, under the lock: another start may have done the job
    const plan = planRemap(spec, db, owner, source, opts.policy);
    plan.notices.forEach(opts.notice);
    if (!changes(plan)) return db;
    if (lock) {
      removeStaleTemps(PASSWD);
      removeStaleTemps(GROUP);
    }
    const writes = stageAll(plan);
    if (writes === undefined) {
      const files = [plan.group && GROUP, plan.passwd && PASSWD].filter(Boolean).join(' and ');
      opts.notice(`${files} cannot be written (read-only): nothing was written and no file re-owned; running as uid ${plan.to.uid} gid ${plan.to.gid} for this start only`);
      return planned(db, plan);
    }
    let result: ReownResult & { roots: string[] };
    try {
      result = await walk(plan, reownRoots(plan, opts), stop.signal, opts);
      refuseFailures(result);
    } catch (err) {
      writes.forEach(discard);
      throw err;
    }
    const done: string[] = [];
    for (const [i, w] of writes.entries()) {
      try {
        done.push(`${w.file}${commit(w) === 'in-place' ? ' (in place)' : ''}`);
      } catch (err) {
        writes.slice(i + 1).forEach(discard);
        // group written, passwd not: the user still has its old ids and the planner finishes the job
        if (done.length > 0 && err instanceof StepdownError) fail(`${err.message}; ${done.join(' and ')} was already written, and the next start finishes the remap`);
        throw err;
      }
    }
    report(plan, done, result, opts);
    return planned(db, plan);
  } finally {
    lock?.release();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

function planned(db: EtcDb, plan: RemapPlan): EtcDb {
  return { passwd: plan.passwd ?? db.passwd, group: plan.group ?? db.group };
}

/** Temp files with the new bytes (group first), or undefined if neither file can be written. */
function stageAll(plan: RemapPlan): StagedWrite[] | undefined {
  const wanted: [string, Buffer][] = [];
  if (plan.group) wanted.push([GROUP, toBytes(plan.group)]);
  if (plan.passwd) wanted.push([PASSWD, toBytes(plan.passwd)]);
  const staged: StagedWrite[] = [];
  const unwritable: string[] = [];
  for (const [file, bytes] of wanted) {
    const w = stage(file, bytes);
    if (w) staged.push(w);
    else unwritable.push(file);
  }
  if (unwritable.length === 0) return staged;
  if (staged.length === 0) return undefined;
  staged.forEach(discard);
  fail(`${staged.map((w) => w.file).join(' and ')} can be written but ${unwritable.join(' and ')} cannot (read-only); nothing was changed: make both writable, or both read-only`);
}

async function walk(plan: RemapPlan, roots: string[], signal: AbortSignal, opts: RemapOptions): Promise<ReownResult & { roots: string[] }> {
  if (roots.length > 0 && !opts.canChown) {
    fail(`re-owning ${roots.join(', ')} needs CAP_CHOWN, which this process lacks; add it (docker run --cap-add CHOWN; Kubernetes capabilities.add: [CHOWN])`);
  }
  const onTerminal = isTerminal(2);
  const started = Date.now();
  let shown = false;
  let lastShown = 0;
  try {
    const result = await reownTrees(
      { roots, from: plan.from, to: plan.to, groupStays: plan.groupStays },
      {
        signal,
        progressEveryMs: opts.progressAfterMs === 0 ? 0 : 250,
        onProgress: (p) => {
          const now = Date.now();
          if (!onTerminal || now - started < opts.progressAfterMs || (shown && now - lastShown < 250)) return;
          shown = true;
          lastShown = now;
          fs.writeSync(2, `\rstepdown: re-owning files: ${p.scanned} scanned, ${p.changed} changed`);
        },
      },
    );
    if (shown) fs.writeSync(2, '\r\x1b[K');
    return { ...result, roots };
  } catch (err) {
    if (shown) fs.writeSync(2, '\n');
    if (err instanceof ReownAbortedError) interrupted(err.cause, 'while re-owning files; /etc/passwd and /etc/group are unchanged and the next start finishes the job');
    throw err;
  }
}

/** An entry that still exists but kept its old owner would be lost to the user: write nothing. */
function refuseFailures(r: ReownResult): void {
  const left = r.errors.filter((e) => {
    try {
      fs.lstatSync(e.path);
      return true;
    } catch (err) {
      return errnoCode(err) !== 'ENOENT'; // removed during the walk: nothing left to re-own
    }
  });
  if (left.length === 0) return;
  const first = left[0]!;
  fail(`could not re-own ${left.length} ${left.length === 1 ? 'entry' : 'entries'} (first: ${JSON.stringify(first.path)}: ${first.message}); /etc/passwd and /etc/group are unchanged and the next start retries; the command was not run`);
}

function interrupted(signal: unknown, when: string): never {
  const name = String(signal);
  fail(`stopped by ${name} ${when}; the command was not run`, name === 'SIGINT' ? 130 : 143);
}

/** The home (unless it is `/`, missing, or a mount point such as the volume) and --chown trees,
 * each resolved first: no spelling of `/` (`/.`, `/tmp/..`, a symlink to /) is ever walked. */
function reownRoots(plan: RemapPlan, opts: RemapOptions): string[] {
  const roots: string[] = [];
  const home = plan.home;
  const real = home === '' ? undefined : realOrUndefined(home);
  if (real !== undefined && real !== '/') {
    if (readMountPoints().includes(real)) {
      opts.notice(`${home} is a mount point; not re-owning it (name it with --chown to re-own a volume)`);
    } else {
      roots.push(isSymlink(home) ? symlinkedHome(home, real) : home);
    }
  }
  for (const tree of opts.chown) {
    if (realOrUndefined(tree) === '/') fail(`--chown ${tree}: that is / and stepdown refuses to re-own the whole filesystem; name the trees the user owns`);
    roots.push(tree);
  }
  return roots;
}

function isSymlink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** A home that is a symlink (an image's layout: /home/app -> /srv/app) is walked where it leads,
 * or only the link would be re-owned. Only if root owns the link and every directory above it:
 * otherwise whoever could replace the link would choose the tree that gets re-owned. */
function symlinkedHome(home: string, real: string): string {
  const parts = path.resolve(home).split('/').filter(Boolean);
  for (let i = parts.length; i >= 0; i--) {
    const p = '/' + parts.slice(0, i).join('/');
    let uid: number;
    try {
      uid = fs.lstatSync(p).uid;
    } catch (err) {
      fail(`the home ${home} is a symbolic link and ${p} cannot be examined (${errnoCode(err) ?? String(err)}); nothing was changed`);
    }
    if (uid !== 0) {
      fail(`the home ${home} is a symbolic link and ${p} is owned by uid ${uid}, not root, so it could be pointed anywhere; nothing was changed: make the home a directory (or a root-owned link in root-owned directories), or point the user's home at ${real}`);
    }
  }
  return real;
}

function realOrUndefined(p: string): string | undefined {
  try {
    return fs.realpathSync(p);
  } catch {
    return undefined;
  }
}

function report(plan: RemapPlan, written: string[], r: ReownResult & { roots: string[] }, opts: RemapOptions): void {
  const where = r.roots.length > 0 ? `; re-owned ${r.changed} of ${r.scanned} entries in ${r.roots.join(', ')} (${r.seconds.toFixed(1)} s)` : '';
  opts.notice(`${plan.userName} is now uid ${plan.to.uid} gid ${plan.to.gid} (was ${plan.from.uid}:${plan.from.gid}); wrote ${written.join(' and ')}${where}`);
  for (const e of r.errors.slice(0, MAX_ERRORS_SHOWN)) opts.notice(`could not re-own ${JSON.stringify(e.path)}: ${e.message}`);
  if (r.errors.length > MAX_ERRORS_SHOWN) opts.notice(`… and ${r.errors.length - MAX_ERRORS_SHOWN} more entries could not be re-owned`);
}
