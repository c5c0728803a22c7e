// The lock shadow-utils' useradd/usermod/groupmod take before they rewrite /etc/passwd and
// /etc/group: a file <name>.lock created with link(2) (atomic even on NFS), holding the
// holder's PID. stepdown takes /etc/passwd.lock, then /etc/group.lock (useradd's order), so two
// starts on one /etc (an entrypoint and a `docker exec`; containers sharing a bind-mounted /etc)
// and a concurrent usermod never interleave their read-modify-write cycles.
//
// A lock is stale, and removed, when:
// - it names a PID in this PID namespace (stepdown writes its namespace on a second line) or
//   has no namespace line (shadow-utils' format), and that process is gone; or
// - it is stepdown's, and its holder has not refreshed its mtime for STALE_MS: a holder touches
//   its locks every HEARTBEAT_MS, so this recovers a lock left by a container that was killed
//   and restarted (a new PID namespace, where its PID means nothing).
// Otherwise the caller waits, polling, up to a bound, then gives up with the lock's name.
// glibc's lckpwdf() (/etc/.pwd.lock) uses fcntl locks, which Node cannot take; the tools that
// rewrite these files take the link()-based locks too.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StepdownError, errnoCode, fail } from './errors.js';
import { UnreadableFile, readRegular } from './read-regular.js';
import { describe, uniqueSuffix } from './atomic-write.js';

export const HEARTBEAT_MS = 1000;
export const STALE_MS = 10_000;
const POLL_MS = 50;

export interface EtcLock {
  release(): void;
}

export interface LockOptions {
  /** give up after this long (the default covers a stale foreign lock: STALE_MS plus margin) */
  waitMs: number;
  notice: (line: string) => void;
  /** aborts the wait (SIGTERM, SIGINT) */
  signal?: AbortSignal;
}

/** Locks each file in order; undefined when the lock files cannot be created (read-only /etc). */
export async function lockEtc(files: string[], opts: LockOptions): Promise<EtcLock | undefined> {
  const held: string[] = [];
  const releaseAll = () => {
    for (const lock of held.splice(0).reverse()) removeIfOurs(lock);
  };
  try {
    for (const file of files) {
      const lock = `${file}.lock`;
      const got = await acquire(lock, opts);
      if (!got) {
        releaseAll();
        return undefined;
      }
      held.push(lock);
    }
  } catch (err) {
    releaseAll();
    throw err;
  }
  const heartbeat = setInterval(() => {
    const now = new Date();
    for (const lock of held) {
      try {
        fs.utimesSync(lock, now, now);
      } catch {
        // the next start's stale check decides; nothing to do here
      }
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();
  for (const lock of held) removeLeftovers(lock);
  return {
    release() {
      clearInterval(heartbeat);
      releaseAll();
    },
  };
}

/** Removes stale locks on these files, if any: a run killed between its last write and its
 * unlock leaves them, and the next start, finding nothing to do, takes no lock that would
 * clean them up; useradd and usermod would keep refusing to work. Best-effort: a lock that is
 * live, odd or cannot be removed (read-only /etc) is left as it is. */
export function clearStaleLocks(files: string[]): void {
  for (const file of files) {
    const lock = `${file}.lock`;
    try {
      fs.lstatSync(lock);
    } catch {
      continue; // none: the usual case
    }
    try {
      const h = readHolder(lock);
      if (h && isStale(h)) removeStale(lock, h.raw);
    } catch {
      // not ours to judge now: the next remap that needs the lock reports it
    }
  }
}

function ownContent(): string {
  return `${process.pid}\n${pidNamespace()}\n`;
}

function pidNamespace(): string {
  try {
    return fs.readlinkSync('/proc/self/ns/pid');
  } catch {
    return 'unknown';
  }
}

async function acquire(lock: string, opts: LockOptions): Promise<boolean> {
  const started = Date.now();
  let told = false;
  for (;;) {
    if (opts.signal?.aborted) {
      const name = String(opts.signal.reason);
      fail(`stopped by ${name} while waiting for ${lock}; nothing was changed; the command was not run`, name === 'SIGINT' ? 130 : 143);
    }
    const r = tryLink(lock);
    if (r === 'locked') return true;
    if (r === 'read-only') return false;
    const holder = readHolder(lock);
    if (holder && isStale(holder)) {
      removeStale(lock, holder.raw);
      continue;
    }
    const waited = Date.now() - started;
    const who = holder?.pid !== undefined ? `pid ${holder.pid}` : 'another process';
    if (waited >= opts.waitMs) {
      fail(`${lock} is held by ${who} (another stepdown, or useradd/usermod) and was not released within ${opts.waitMs % 1000 === 0 ? `${opts.waitMs / 1000} s` : `${opts.waitMs} ms`}; /etc/passwd and /etc/group are unchanged. Retry; if no such process runs, remove ${lock}`);
    }
    if (!told) {
      opts.notice(`waiting for ${lock} (held by ${who})`);
      told = true;
    }
    await sleep(Math.min(POLL_MS, opts.waitMs - waited), opts.signal);
  }
}

/** Creates lock via a uniquely named file and link(2), which fails if lock exists. */
function tryLink(lock: string): 'locked' | 'busy' | 'read-only' {
  const tmp = `${lock}.stepdown-${uniqueSuffix()}`;
  let created = false;
  try {
    const fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    created = true;
    try {
      const content = Buffer.from(ownContent());
      if (fs.writeSync(fd, content) !== content.length) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    // created but not written (a full /etc): never leave it behind
    if (created) unlinkQuietly(tmp);
    const code = errnoCode(err);
    if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') return 'read-only';
    return fail(`cannot create the lock ${lock}: ${describe(err)}; /etc/passwd and /etc/group are unchanged`);
  }
  try {
    fs.linkSync(tmp, lock);
    return 'locked';
  } catch (err) {
    // ENOENT: a holder cleaning leftovers took our temp file for a dead run's; just try again
    if (errnoCode(err) === 'EEXIST' || errnoCode(err) === 'ENOENT') return 'busy';
    return fail(`cannot create the lock ${lock}: ${describe(err)}; /etc/passwd and /etc/group are unchanged`);
  } finally {
    unlinkQuietly(tmp);
  }
}

function unlinkQuietly(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    // gone already
  }
}

interface Holder {
  raw: string;
  pid?: number;
  namespace?: string;
  mtimeMs: number;
}

/** A lock file's content: its holder's PID and PID namespace, never more than this. */
const MAX_LOCK_BYTES = 4096;

/** A lock file's bytes; never follows a symlink nor reads a FIFO or device (which could hang or
 * never end): a lock that is not a regular file is refused. */
function readLock(lock: string): string {
  try {
    return readRegular(lock, MAX_LOCK_BYTES, false).toString('latin1');
  } catch (err) {
    if (err instanceof UnreadableFile) {
      fail(`${lock} ${err.detail}; a lock file must be a small regular file: remove it. /etc/passwd and /etc/group are unchanged`);
    }
    if (errnoCode(err) === 'ELOOP') fail(`${lock} is a symbolic link; a lock file must be a regular file: remove it. /etc/passwd and /etc/group are unchanged`);
    throw err;
  }
}

function readHolder(lock: string): Holder | undefined {
  let raw: string;
  try {
    raw = readLock(lock);
  } catch (err) {
    if (err instanceof StepdownError) throw err;
    return undefined; // released between the link attempt and this read: try again
  }
  try {
    const mtimeMs = fs.statSync(lock).mtimeMs;
    const [pidText = '', namespace] = raw.split('\n');
    const h: Holder = { raw, mtimeMs };
    if (/^[1-9][0-9]{0,9}$/.test(pidText.trim())) h.pid = Number(pidText.trim());
    if (namespace) h.namespace = namespace;
    return h;
  } catch {
    return undefined; // released between the link attempt and this read: try again
  }
}

function isStale(h: Holder): boolean {
  const stepdowns = h.namespace !== undefined;
  if (stepdowns && Date.now() - h.mtimeMs > STALE_MS) return true;
  // a PID from another PID namespace says nothing about a process here
  if (h.pid === undefined || (stepdowns && h.namespace !== pidNamespace())) return false;
  try {
    process.kill(h.pid, 0);
    return false;
  } catch (err) {
    return errnoCode(err) === 'ESRCH';
  }
}

/** Removes a stale lock, unless another process replaced it since it was read: the lock is
 * first renamed aside (atomic), and put back with link(2) if it turns out to be a fresh one. */
function removeStale(lock: string, raw: string): void {
  const aside = `${lock}.stepdown-stale-${uniqueSuffix()}`;
  try {
    fs.renameSync(lock, aside);
  } catch {
    return; // someone else removed it first
  }
  try {
    if (readLock(aside) !== raw) fs.linkSync(aside, lock);
  } catch (err) {
    if (err instanceof StepdownError) throw err;
    // EEXIST: a newer lock is already in place; the one set aside was stale after all
  } finally {
    try {
      fs.unlinkSync(aside);
    } catch {
      // gone already
    }
  }
}

function removeIfOurs(lock: string): void {
  try {
    if (readRegular(lock, MAX_LOCK_BYTES, false).toString('latin1') === ownContent()) fs.unlinkSync(lock);
  } catch {
    // gone already
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}

/** Removes the temp files (<lock>.stepdown-<pid>-…) of runs killed while taking the lock: those
 * whose PID is gone, or that are older than STALE_MS (a PID from another namespace). */
function removeLeftovers(lock: string): void {
  const dir = path.dirname(lock);
  const prefix = `${path.basename(lock)}.stepdown-`;
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => n.startsWith(prefix));
  } catch {
    return;
  }
  for (const name of names) {
    const file = path.join(dir, name);
    const pid = Number(/^(?:stale-)?([0-9]+)-/.exec(name.slice(prefix.length))?.[1]);
    try {
      if (pid === process.pid) continue;
      if (Date.now() - fs.lstatSync(file).mtimeMs > STALE_MS || !alive(pid)) fs.unlinkSync(file);
    } catch {
      // gone already
    }
  }
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) !== 'ESRCH';
  }
}
