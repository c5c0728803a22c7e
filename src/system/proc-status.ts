// Parses /proc/<pid>/status: what the kernel says about a process's identity and signals.
// Lines that a kernel does not expose (gVisor omits NoNewPrivs, SigIgn, SigBlk, CapAmb) are
// simply absent from the map; callers decide what an absent line means.

import * as fs from 'node:fs';
import { errnoCode, fail } from './errors.js';

export type ProcStatus = Map<string, string>;

/** This process's status now. */
export function readStatus(): ProcStatus {
  try {
    return parseProcStatus(fs.readFileSync('/proc/self/status', 'utf8'));
  } catch (err) {
    fail(`cannot read /proc/self/status (${errnoCode(err) ?? String(err)}); stepdown needs /proc mounted`);
  }
}

export function parseProcStatus(text: string): ProcStatus {
  const m: ProcStatus = new Map();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return m;
}

/** Uid/Gid lines: real, effective, saved, filesystem. */
export function idsOf(status: ProcStatus, key: 'Uid' | 'Gid'): number[] | undefined {
  const v = status.get(key);
  if (v === undefined) return undefined;
  return v.split(/\s+/).filter(Boolean).map(Number);
}

export function groupsOf(status: ProcStatus): number[] | undefined {
  const v = status.get('Groups');
  if (v === undefined) return undefined;
  return v.split(/\s+/).filter(Boolean).map(Number);
}

/** A hex mask line (CapEff, SigIgn, …) as a bigint. */
export function maskOf(status: ProcStatus, key: string): bigint | undefined {
  const v = status.get(key);
  return v === undefined || !/^[0-9a-fA-F]+$/.test(v) ? undefined : BigInt('0x' + v);
}

export const CAP_CHOWN = 0;
export const CAP_SETGID = 6;
export const CAP_SETUID = 7;

export function hasBit(mask: bigint, bit: number): boolean {
  return ((mask >> BigInt(bit)) & 1n) === 1n;
}
