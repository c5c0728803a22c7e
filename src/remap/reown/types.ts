// What a re-own is asked and what it answers (see ../reown.ts for the rules).

export interface ReownRequest {
  roots: string[];
  from: { uid: number; gid: number };
  to: { uid: number; gid: number };
  /** The group keeps its number (a system group, or the user joined another group as primary):
   * other accounts still own files with from.gid, so only entries of the user itself (uid from.uid
   * or to.uid) change group. Default false: the whole group was renumbered and every file follows. */
  groupStays?: boolean;
}
export interface ReownProgress {
  scanned: number;
  changed: number;
}
export interface ReownResult {
  scanned: number;
  changed: number;
  errors: { path: string; message: string }[];
  seconds: number;
}
export interface ReownOptions {
  signal?: AbortSignal;
  onProgress?: (p: ReownProgress) => void;
  progressEveryMs?: number;
  /** Mount points to avoid; default: those in /proc/self/mountinfo. */
  mounts?: string[];
}

/** How chowns are issued: for tests and bench/reown/variants.mjs, which compare the strategies. */
export interface ReownTuning {
  /** 'auto' (default): 'pool' on SLOW_FS or once chowns are slow, else 'sync'. */
  chowns?: 'auto' | 'sync' | 'pool';
  /** Pooled chowns in flight at once (default POOL_IN_FLIGHT). */
  inFlight?: number;
  /** Synchronous work between two turns of the event loop (default SLICE_MS; 0: one entry). */
  sliceMs?: number;
}

export class ReownAbortedError extends Error {
  readonly code = 'ABORT_ERR';
  constructor(
    readonly partial: ReownResult,
    cause: unknown,
  ) {
    super('re-owning was aborted', { cause });
    this.name = 'AbortError';
  }
}
