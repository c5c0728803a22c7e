// Capability masks (CapEff, CapPrm, … in /proc/<pid>/status) as names. The table is the
// kernel's numbering (include/uapi/linux/capability.h, 6.x); a bit a newer kernel adds and this
// table does not know yet is shown as cap_N, never dropped.

import { hasBit } from '../system/proc-status.js';

export const CAP_NAMES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER',
  'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** The one capability the Kubernetes "restricted" profile lets a container add. */
export const RESTRICTED_ALLOWED = 'CAP_NET_BIND_SERVICE';

/** Names of the set bits, lowest first; unknown bits as cap_N. */
export function capNames(mask: bigint): string[] {
  const names: string[] = [];
  for (let bit = 0; mask >> BigInt(bit) !== 0n; bit++) {
    if (hasBit(mask, bit)) names.push(CAP_NAMES[bit] ?? `cap_${bit}`);
  }
  return names;
}

/** A short human form: "none", a list, or "all except …" when most known capabilities are set. */
export function describeCaps(names: readonly string[]): string {
  if (names.length === 0) return 'none';
  const known = new Set(names);
  const missing = CAP_NAMES.filter((n) => !known.has(n));
  const extra = names.filter((n) => !CAP_NAMES.includes(n));
  if (missing.length <= 8 && names.length > 16) {
    const base = missing.length === 0 ? `all ${CAP_NAMES.length}` : `all except ${missing.join(', ')}`;
    return extra.length > 0 ? `${base}, plus ${extra.join(', ')}` : base;
  }
  return names.join(', ');
}
