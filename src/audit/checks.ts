// `stepdown --audit`: what the kernel says about this process, as checks with verdicts and the
// Kubernetes/Docker setting that fixes each. Pure: it takes the texts of the files (and a few
// stat/access results) that read.ts gathered, so every verdict is testable on recorded
// files. A file or /proc line the kernel does not expose makes a check "unknown", never a pass.
import { RESTRICTED_ALLOWED, capNames, describeCaps } from './capabilities.js';
import { type FileText, type Limit, cgroupPlace, cpuLimit, memoryLimit, pidsLimit } from './cgroup.js';
import { type Mount, PSEUDO_FS, isReadOnly, mountOf, parseMountinfo, visibleMounts } from '../system/mountinfo.js';
import { namesById, splitLines } from '../system/etc-files.js';
import { groupsOf, idsOf, maskOf, parseProcStatus, type ProcStatus } from '../system/proc-status.js';

export type { FileText } from './cgroup.js';
export type Verdict = 'pass' | 'warn' | 'fail' | 'unknown';

export interface Check {
  id: string;
  what: string;
  found: string;
  verdict: Verdict;
  /** required by the Kubernetes "restricted" Pod Security profile: --strict fails on it */
  restricted: boolean;
  fix: { kubernetes: string; docker: string };
  detail?: Record<string, unknown>;
}

export interface AuditReport {
  sandbox: 'gvisor' | null;
  strictFailed: boolean;
  checks: Check[];
}

/** What stat + access(W_OK) said about a path (the reader's only side-channel besides files). */
export type PathProbe = { dir: boolean; writable: boolean } | { errno: string };

export interface AuditInput {
  /** absolute path → text, or the errno reading it gave; a path not in the map was not there */
  files: Record<string, FileText>;
  paths: Record<string, PathProbe>;
  /** the running executable (process.execPath) and its mode bits */
  exe: { path: string; mode: number } | { path: string; errno: string };
}

export const UNEXPOSED = 'unknown (not exposed by this kernel)';

/** The files read.ts reads first; cgroupFiles() adds the cgroup ones. */
export const BASE_FILES = [
  '/proc/self/status',
  '/proc/self/mountinfo',
  '/proc/self/cgroup',
  '/proc/version',
  '/proc/1/comm',
  '/proc/self/attr/current',
  '/proc/self/attr/apparmor/current',
  '/etc/passwd',
  '/etc/group',
];

// gVisor's sentry hard-codes the version string of the Linux it imitates. The release is
// configurable (4.4.0 by default, "4.19.0-gvisor" in some deployments); the build stamp is not,
// and no real kernel has it: real ones also name the compiler.
const GVISOR_VERSION = /^Linux version \S+ #1 SMP Sun Jan 10 15:06:54 PST 2016\s*$/;

export function detectSandbox(procVersion: string | undefined): 'gvisor' | null {
  if (procVersion === undefined) return null;
  return GVISOR_VERSION.test(procVersion) || /^Linux version \S*gvisor/i.test(procVersion) ? 'gvisor' : null;
}

function fileText(input: AuditInput, path: string): string | undefined {
  const t = input.files[path];
  return typeof t === 'string' ? t : undefined;
}

function errnoOf(input: AuditInput, path: string): string | undefined {
  const t = input.files[path];
  return t === undefined ? 'ENOENT' : typeof t === 'string' ? undefined : t.errno;
}

function named(id: number, names: Map<number, string>): string {
  const n = names.get(id);
  return n === undefined ? String(id) : `${id} (${n})`;
}

/** "1000 (app)" when real, effective, saved and filesystem ids agree, otherwise each one. */
function describeIds(ids: number[], names: Map<number, string>): string {
  if (ids.every((i) => i === ids[0])) return named(ids[0]!, names);
  const labels = ['real', 'effective', 'saved', 'filesystem'];
  return ids.map((id, i) => `${labels[i] ?? `#${i}`} ${named(id, names)}`).join(', ');
}

const FIX = {
  uid: { kubernetes: 'securityContext.runAsNonRoot: true, runAsUser: <uid>', docker: '--user <uid>:<gid> (or USER in the Dockerfile, or stepdown <user> -- <command>)' },
  gid: { kubernetes: 'securityContext.runAsGroup: <gid>', docker: '--user <uid>:<gid>' },
  groups: { kubernetes: 'securityContext.supplementalGroups without 0', docker: 'no --group-add 0/root; --user <uid>:<gid>' },
  capabilities: { kubernetes: 'securityContext.capabilities.drop: ["ALL"] (add only NET_BIND_SERVICE)', docker: '--cap-drop ALL (--cap-add NET_BIND_SERVICE only if needed)' },
  noNewPrivs: { kubernetes: 'securityContext.allowPrivilegeEscalation: false', docker: '--security-opt no-new-privileges' },
  seccomp: { kubernetes: 'securityContext.seccompProfile.type: RuntimeDefault', docker: 'the default profile: no --security-opt seccomp=unconfined, no --privileged' },
  lsm: { kubernetes: 'securityContext.appArmorProfile.type: RuntimeDefault, or seLinuxOptions', docker: '--security-opt apparmor=docker-default (or label=type:container_t); no --privileged' },
  privileged: { kubernetes: 'securityContext.privileged: false; procMount: Default', docker: 'no --privileged, no --security-opt systempaths=unconfined' },
  rootReadonly: { kubernetes: 'securityContext.readOnlyRootFilesystem: true', docker: '--read-only (plus --tmpfs /tmp)' },
  execMounts: { kubernetes: 'securityContext.readOnlyRootFilesystem: true, runAsNonRoot: true', docker: '--read-only --tmpfs /tmp:rw,noexec,nosuid' },
  passwd: { kubernetes: 'securityContext.runAsNonRoot: true, readOnlyRootFilesystem: true; no group-writable /etc/passwd', docker: '--user <uid>:<gid>, --read-only' },
  memory: { kubernetes: 'resources.limits.memory', docker: '--memory <bytes>' },
  pids: { kubernetes: 'kubelet podPidsLimit (a node setting)', docker: '--pids-limit <n>' },
  cpu: { kubernetes: 'resources.limits.cpu', docker: '--cpus <n>' },
  pid1: { kubernetes: 'handle SIGTERM in the app, or put tini in the image', docker: '--init, or handle SIGTERM in the app' },
};

function check(id: string, what: string, found: string, verdict: Verdict, fix: Check['fix'], restricted = false, detail?: Record<string, unknown>): Check {
  const c: Check = { id, what, found, verdict, restricted, fix };
  if (detail !== undefined) c.detail = detail;
  return c;
}

function identityChecks(st: ProcStatus, input: AuditInput): Check[] {
  const users = namesById(splitLines(fileText(input, '/etc/passwd') ?? ''));
  const groups = namesById(splitLines(fileText(input, '/etc/group') ?? ''));
  const uids = idsOf(st, 'Uid');
  const gids = idsOf(st, 'Gid');
  const supp = groupsOf(st);
  return [
    uids === undefined || uids.length === 0
      ? check('uid', 'user id', UNEXPOSED, 'unknown', FIX.uid, true)
      : check('uid', 'user id', describeIds(uids, users), uids.includes(0) ? 'fail' : 'pass', FIX.uid, true, { real: uids[0], effective: uids[1], saved: uids[2], filesystem: uids[3] }),
    gids === undefined || gids.length === 0
      ? check('gid', 'group id', UNEXPOSED, 'unknown', FIX.gid)
      : check('gid', 'group id', describeIds(gids, groups), gids.includes(0) ? 'warn' : 'pass', FIX.gid, false, { real: gids[0], effective: gids[1], saved: gids[2], filesystem: gids[3] }),
    supp === undefined
      ? check('groups', 'supplementary groups', UNEXPOSED, 'unknown', FIX.groups)
      : check('groups', 'supplementary groups', supp.length === 0 ? 'none' : supp.map((g) => named(g, groups)).join(', '), supp.includes(0) ? 'warn' : 'pass', FIX.groups, false, { groups: supp }),
  ];
}

function capabilityCheck(st: ProcStatus): Check {
  const sets = { effective: 'CapEff', permitted: 'CapPrm', bounding: 'CapBnd', ambient: 'CapAmb', inheritable: 'CapInh' } as const;
  const names: Record<string, string[] | null> = {};
  for (const [label, key] of Object.entries(sets)) {
    const mask = maskOf(st, key);
    names[label] = mask === undefined ? null : capNames(mask);
  }
  const judged = ['effective', 'permitted', 'bounding', 'ambient'];
  const excess = (label: string) => (names[label] ?? []).filter((n) => n !== RESTRICTED_ALLOWED);
  const failing = judged.filter((l) => excess(l).length > 0);
  const missing = ['effective', 'permitted', 'bounding'].filter((l) => names[l] === null);
  const verdict: Verdict = failing.length > 0 ? 'fail' : missing.length > 0 ? 'unknown' : 'pass';

  // group sets with the same content: "effective, permitted: none; bounding: CAP_CHOWN, …"
  const parts: string[] = [];
  const shown = ['effective', 'permitted', 'bounding', 'ambient', 'inheritable'].filter(
    (l) => l === 'effective' || l === 'permitted' || l === 'bounding' || (names[l] !== null && names[l]!.length > 0),
  );
  const byText = new Map<string, string[]>();
  for (const l of shown) {
    const t = names[l] === null ? 'unknown (not exposed by this kernel)' : describeCaps(names[l]!);
    byText.set(t, [...(byText.get(t) ?? []), l]);
  }
  for (const [t, labels] of byText) parts.push(`${labels.join(', ')}: ${t}`);
  return check('capabilities', 'capabilities (effective, permitted, bounding)', parts.join('; '), verdict, FIX.capabilities, true, names);
}

function noNewPrivsCheck(st: ProcStatus): Check {
  const v = st.get('NoNewPrivs');
  const what = 'no_new_privs (no privilege escalation)';
  if (v === undefined) return check('no-new-privs', what, UNEXPOSED, 'unknown', FIX.noNewPrivs, true);
  return check('no-new-privs', what, v === '1' ? 'on' : v === '0' ? 'off' : v, v === '1' ? 'pass' : v === '0' ? 'fail' : 'unknown', FIX.noNewPrivs, true);
}

function seccompCheck(st: ProcStatus, sandbox: 'gvisor' | null): Check {
  const v = st.get('Seccomp');
  const what = 'seccomp filter';
  if (v === undefined) return check('seccomp', what, UNEXPOSED, 'unknown', FIX.seccomp, true);
  const filters = st.get('Seccomp_filters');
  if (v === '2') return check('seccomp', what, `filter${filters !== undefined ? ` (${filters} ${filters === '1' ? 'filter' : 'filters'})` : ''}`, 'pass', FIX.seccomp, true);
  if (v === '1') return check('seccomp', what, 'strict mode', 'pass', FIX.seccomp, true);
  if (v === '0' && sandbox === 'gvisor') {
    // gVisor reports 0: the runtime's profile confines the sandbox on the host, not visible inside
    return check('seccomp', what, 'unknown (gVisor always reports 0; its filters apply to the sandbox on the host)', 'unknown', FIX.seccomp, true);
  }
  if (v === '0') return check('seccomp', what, 'none', 'fail', FIX.seccomp, true);
  return check('seccomp', what, `unknown mode ${v}`, 'unknown', FIX.seccomp, true);
}

function lsmCheck(input: AuditInput, sandbox: 'gvisor' | null): Check {
  const what = 'AppArmor / SELinux label';
  const clean = (s: string | undefined) => s?.replace(/\0/g, '').trim();
  const aa = clean(fileText(input, '/proc/self/attr/apparmor/current'));
  const cur = clean(fileText(input, '/proc/self/attr/current'));
  const label = aa || cur;
  if (label) {
    const ctx = label.split(':');
    if (!aa && ctx.length >= 3 && !label.includes(' ')) {
      const type = ctx[2]!;
      const unconfined = ['unconfined_t', 'spc_t', 'kernel_t', 'initrc_t', 'unconfined_service_t', 'init_t'].includes(type);
      return check('lsm', what, `SELinux ${label}`, unconfined ? 'warn' : 'pass', FIX.lsm, false, { selinux: label });
    }
    const confined = label !== 'unconfined' && !/\((complain|unconfined)\)$/.test(label);
    return check('lsm', what, `AppArmor ${label}`, confined ? 'pass' : 'warn', FIX.lsm, false, { apparmor: label });
  }
  // EINVAL: /proc/self/attr exists but no LSM in this kernel provides a label
  if (errnoOf(input, '/proc/self/attr/current') === 'EINVAL' && sandbox === null) {
    return check('lsm', what, 'none (this kernel has neither AppArmor nor SELinux)', 'warn', { ...FIX.lsm, kubernetes: 'nodes with AppArmor or SELinux enabled', docker: 'a host kernel with AppArmor or SELinux enabled' });
  }
  return check('lsm', what, UNEXPOSED, 'unknown', FIX.lsm);
}

/** A non-privileged container has /sys read-only and /proc/sys, /proc/kcore … masked or read-only. */
function privilegedCheck(mounts: Mount[] | undefined, sandbox: 'gvisor' | null): Check {
  const what = 'kernel interfaces masked (not privileged)';
  if (mounts === undefined) return check('privileged', what, UNEXPOSED, 'unknown', FIX.privileged);
  const at = (p: string) => mounts.find((m) => m.point === p);
  const masked: string[] = [];
  const sys = at('/sys');
  if (sys && isReadOnly(sys)) masked.push('/sys read-only');
  const procSys = at('/proc/sys');
  if (procSys && isReadOnly(procSys)) masked.push('/proc/sys read-only');
  for (const p of ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/acpi', '/proc/scsi', '/sys/firmware']) {
    if (at(p)) masked.push(`${p} masked`);
  }
  if (masked.length > 0) return check('privileged', what, masked.join(', '), 'pass', FIX.privileged, false, { masked });
  if (sandbox === 'gvisor') return check('privileged', what, "unknown (gVisor's /proc and /sys are the sandbox's own, not the host's)", 'unknown', FIX.privileged, false, { masked });
  return check('privileged', what, 'none: /sys and /proc/sys writable, nothing under /proc masked (privileged, or not a container)', 'fail', FIX.privileged, false, { masked });
}

function mountChecks(input: AuditInput, mounts: Mount[] | undefined): Check[] {
  if (mounts === undefined) {
    return [
      check('root-readonly', 'root filesystem read-only', UNEXPOSED, 'unknown', FIX.rootReadonly),
      check('exec-mounts', 'writable places that allow exec', UNEXPOSED, 'unknown', FIX.execMounts),
    ];
  }
  const root = mounts.find((m) => m.point === '/');
  const rootCheck = root === undefined
    ? check('root-readonly', 'root filesystem read-only', 'unknown (no / in mountinfo)', 'unknown', FIX.rootReadonly)
    : check('root-readonly', 'root filesystem read-only', `${isReadOnly(root) ? 'read-only' : 'writable'} (${root.fstype})`, isReadOnly(root) ? 'pass' : 'warn', FIX.rootReadonly);

  const places: { path: string; mount: string; nosuid: boolean }[] = [];
  for (const [path, probe] of Object.entries(input.paths)) {
    if ('errno' in probe || !probe.dir || !probe.writable) continue;
    const m = mountOf(mounts, path);
    if (!m || PSEUDO_FS.has(m.fstype) || isReadOnly(m) || m.options.includes('noexec')) continue;
    places.push({ path, mount: m.point, nosuid: m.options.includes('nosuid') });
  }
  places.sort((a, b) => a.path.localeCompare(b.path));
  const suid = places.filter((p) => !p.nosuid).map((p) => p.path);
  const found = places.length === 0
    ? 'none: every place this process can write is read-only or noexec'
    : places.map((p) => p.path).join(', ') +
      (suid.length === 0 ? ' (all nosuid)' : suid.length === places.length ? ' (none nosuid)' : ` (setuid honoured on ${suid.join(', ')})`);
  return [rootCheck, check('exec-mounts', 'writable places that allow exec', found, places.length === 0 ? 'pass' : 'warn', FIX.execMounts, false, { places })];
}

function passwdCheck(input: AuditInput): Check {
  const what = '/etc/passwd writable';
  const p = input.paths['/etc/passwd'];
  if (p === undefined) return check('passwd-writable', what, 'unknown (not checked)', 'unknown', FIX.passwd);
  if ('errno' in p) {
    return p.errno === 'ENOENT'
      ? check('passwd-writable', what, 'no /etc/passwd', 'pass', FIX.passwd)
      : check('passwd-writable', what, `unknown (${p.errno})`, 'unknown', FIX.passwd);
  }
  return check('passwd-writable', what, p.writable ? 'writable by this process' : 'not writable', p.writable ? 'warn' : 'pass', FIX.passwd);
}

function bytes(n: number): string {
  const units: [number, string][] = [[2 ** 40, 'TiB'], [2 ** 30, 'GiB'], [2 ** 20, 'MiB'], [2 ** 10, 'KiB']];
  for (const [size, unit] of units) if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  return n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${n} bytes`;
}

function limitCheck(id: string, what: string, limit: Limit, version: 1 | 2 | undefined, show: (n: number) => string, fix: Check['fix']): Check {
  const v = version === undefined ? '' : `cgroup v${version}`;
  if (limit.kind === 'limit') return check(id, what, `${show(limit.value)} (${v}: ${limit.source})`, 'pass', fix, false, { limit: limit.value, cgroup: version });
  if (limit.kind === 'none') return check(id, what, `no limit (${v}${limit.note ? `; ${limit.note}` : ''})`, 'warn', fix, false, { limit: null, cgroup: version });
  return check(id, what, version === undefined ? UNEXPOSED : `unknown (${v}: ${limit.note})`, 'unknown', fix);
}

function limitChecks(input: AuditInput): Check[] {
  const cg = fileText(input, '/proc/self/cgroup');
  const mi = fileText(input, '/proc/self/mountinfo');
  const mem = cgroupPlace(cg, mi, 'memory');
  const pids = cgroupPlace(cg, mi, 'pids');
  const cpu = cgroupPlace(cg, mi, 'cpu');
  return [
    limitCheck('memory', 'memory limit', memoryLimit(mem, input.files), mem?.version, bytes, FIX.memory),
    limitCheck('pids', 'process (pids) limit', pidsLimit(pids, input.files), pids?.version, (n) => `${n} tasks`, FIX.pids),
    limitCheck('cpu', 'CPU limit', cpuLimit(cpu, input.files), cpu?.version, (n) => `${Number(n.toFixed(3))} CPU`, FIX.cpu),
  ];
}

function pid1Check(st: ProcStatus, input: AuditInput): Check {
  const what = 'PID 1 (gets docker stop\'s SIGTERM only if it handles it)';
  // NSpid's last field is the pid in the innermost namespace, the one /proc here belongs to
  const pid = st.get('NSpid')?.split(/\s+/).pop() ?? st.get('Pid');
  if (pid === undefined) return check('pid1', what, UNEXPOSED, 'unknown', FIX.pid1);
  if (pid === '1') return check('pid1', what, 'yes: this process is PID 1 (must handle SIGTERM and reap children)', 'warn', FIX.pid1, false, { pid: 1 });
  const init = fileText(input, '/proc/1/comm')?.trim();
  return check('pid1', what, `no: pid ${pid}${init ? `, PID 1 is ${init}` : ''}`, 'pass', FIX.pid1, false, { pid: Number(pid), pid1: init ?? null });
}

function exeCheck(input: AuditInput): Check {
  const what = 'stepdown executable without setuid/setgid';
  const e = input.exe;
  const fix = { kubernetes: `chmod ug-s ${e.path} in the image`, docker: `chmod ug-s ${e.path} in the image` };
  if ('errno' in e) return check('setuid-exe', what, `unknown (${e.path}: ${e.errno})`, 'unknown', fix);
  const bits = [e.mode & 0o4000 ? 'setuid' : '', e.mode & 0o2000 ? 'setgid' : ''].filter(Boolean);
  const mode = (e.mode & 0o7777).toString(8).padStart(4, '0');
  return check('setuid-exe', what, `${e.path} mode ${mode}${bits.length ? ` (${bits.join(', ')})` : ''}`, bits.length ? 'fail' : 'pass', fix);
}

export function audit(input: AuditInput): AuditReport {
  const sandbox = detectSandbox(fileText(input, '/proc/version'));
  const st = parseProcStatus(fileText(input, '/proc/self/status') ?? '');
  const mi = fileText(input, '/proc/self/mountinfo');
  const mounts = mi === undefined ? undefined : visibleMounts(parseMountinfo(mi));
  const checks = [
    ...identityChecks(st, input),
    capabilityCheck(st),
    noNewPrivsCheck(st),
    seccompCheck(st, sandbox),
    lsmCheck(input, sandbox),
    privilegedCheck(mounts, sandbox),
    ...mountChecks(input, mounts),
    passwdCheck(input),
    ...limitChecks(input),
    pid1Check(st, input),
    exeCheck(input),
  ];
  return { sandbox, strictFailed: checks.some((c) => c.restricted && c.verdict === 'fail'), checks };
}
