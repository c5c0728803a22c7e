// Carries out a remap plan as root: re-own the user's home and the --chown trees, then write
// /etc/group, then /etc/passwd (each atomically). That order means an interruption loses
// nothing: until /etc/passwd is written the user still has its old ids, and a re-run plans the
// same remap and finishes the walk. SIGTERM/SIGINT (a `docker stop` while stepdown is still
// PID 1) abort the walk and end stepdown with 143/130; the command is not run.
import * as fs from 'node:fs';
import { isTerminal } from './terminal.js';
import { writeFileAtomic } from './atomic-write.js';
import { errnoCode, fail } from './errors.js';
import { joinLines } from './etc-files.js';
import { type RemapPlan, changes } from './remap.js';
import { type ReownResult, ReownAbortedError, readMountPoints, reownTrees } from './reown.js';

export interface ApplyOptions {
  chown: string[];
  /** whether the process has CAP_CHOWN: without it the walk would fail on every entry */
  canChown: boolean;
  notice: (line: string) => void;
}

export type ApplyOutcome = 'unchanged' | 'written' | 'read-only';

const SHOW_AFTER_MS = 1000;
const MAX_ERRORS_SHOWN = 5;

export async function applyRemap(plan: RemapPlan, opts: ApplyOptions): Promise<ApplyOutcome> {
  if (!changes(plan)) return 'unchanged';
  if (readOnly('/etc/passwd') || readOnly('/etc/group')) {
    opts.notice(`/etc is read-only: not writing /etc/passwd or /etc/group, and not re-owning files; running as uid ${plan.to.uid} gid ${plan.to.gid} anyway`);
    return 'read-only';
  }

  const roots = reownRoots(plan.home, opts);
  if (roots.length > 0 && !opts.canChown) {
    fail(`re-owning ${roots.join(', ')} needs CAP_CHOWN, which this process lacks; add it (docker run --cap-add CHOWN; Kubernetes capabilities.add: [CHOWN])`);
  }
  const stop = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => stop.abort(sig);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    const result = await walk(plan, roots, stop.signal);
    if (plan.group) writeFileAtomic('/etc/group', joinLines(plan.group));
    if (plan.passwd) writeFileAtomic('/etc/passwd', joinLines(plan.passwd));
    report(plan, result, opts);
    if (stop.signal.aborted) interrupted(stop.signal.reason, 'after the remap was written');
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
  return 'written';
}

async function walk(plan: RemapPlan, roots: string[], signal: AbortSignal): Promise<ReownResult & { roots: string[] }> {
  const onTerminal = isTerminal(2);
  const started = Date.now();
  let shown = false;
  try {
    const result = await reownTrees(
      { roots, from: plan.from, to: plan.to },
      {
        signal,
        progressEveryMs: 250,
        onProgress: (p) => {
          if (!onTerminal || Date.now() - started < SHOW_AFTER_MS) return;
          shown = true;
          fs.writeSync(2, `\rstepdown: re-owning files: ${p.scanned} scanned, ${p.changed} changed`);
        },
      },
    );
    if (shown) fs.writeSync(2, '\r\x1b[K');
    return { ...result, roots };
  } catch (err) {
    if (shown) fs.writeSync(2, '\n');
    if (err instanceof ReownAbortedError) interrupted(err.cause, 'while re-owning files; /etc/passwd is unchanged and the next start finishes the job');
    throw err;
  }
}

function interrupted(signal: unknown, when: string): never {
  const name = String(signal);
  fail(`stopped by ${name} ${when}; the command was not run`, name === 'SIGINT' ? 130 : 143);
}

/** The home (unless it is `/`, missing, or a mount point such as the volume itself) and --chown trees. */
function reownRoots(home: string, opts: ApplyOptions): string[] {
  const roots: string[] = [];
  if (home !== '' && home !== '/' && fs.existsSync(home)) {
    if (readMountPoints().includes(fs.realpathSync(home))) {
      opts.notice(`${home} is a mount point; not re-owning it (name it with --chown to re-own a volume)`);
    } else {
      roots.push(home);
    }
  }
  return [...roots, ...opts.chown];
}

function readOnly(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.W_OK);
    return false;
  } catch (err) {
    return errnoCode(err) === 'EROFS';
  }
}

function report(plan: RemapPlan, r: ReownResult & { roots: string[] }, opts: ApplyOptions): void {
  const where = r.roots.length > 0 ? `; re-owned ${r.changed} of ${r.scanned} entries in ${r.roots.join(', ')} (${r.seconds.toFixed(1)} s)` : '';
  opts.notice(`${plan.userName} is now uid ${plan.to.uid} gid ${plan.to.gid} (was ${plan.from.uid}:${plan.from.gid})${where}`);
  for (const e of r.errors.slice(0, MAX_ERRORS_SHOWN)) opts.notice(`could not re-own ${JSON.stringify(e.path)}: ${e.message}`);
  if (r.errors.length > MAX_ERRORS_SHOWN) opts.notice(`… and ${r.errors.length - MAX_ERRORS_SHOWN} more entries could not be re-owned`);
}
