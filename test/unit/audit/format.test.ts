// Capability names, the table and the JSON of --audit.
import { describe, expect, it } from 'vitest';
import { CAP_NAMES, capNames, describeCaps } from '../../../src/audit/capabilities.js';
import { audit } from '../../../src/audit/checks.js';
import { formatJson, formatTable, wrap } from '../../../src/audit/format.js';
import { loadFixture } from '../../helpers/audit-fixture.js';

describe('capability names', () => {
  it('has the 41 kernel capabilities, CAP_CHOWN = 0 … CAP_CHECKPOINT_RESTORE = 40', () => {
    expect(CAP_NAMES).toHaveLength(41);
    expect(CAP_NAMES[0]).toBe('CAP_CHOWN');
    expect(CAP_NAMES[10]).toBe('CAP_NET_BIND_SERVICE');
    expect(CAP_NAMES[21]).toBe('CAP_SYS_ADMIN');
    expect(CAP_NAMES[40]).toBe('CAP_CHECKPOINT_RESTORE');
  });

  it('turns masks into names, unknown bits into cap_N', () => {
    expect(capNames(0n)).toEqual([]);
    expect(capNames(0xa80425fbn)).toHaveLength(14);
    expect(capNames((1n << 41n) | 1n)).toEqual(['CAP_CHOWN', 'cap_41']);
    expect(capNames((1n << 41n) - 1n)).toEqual(CAP_NAMES);
  });

  it('describes a set shortly', () => {
    expect(describeCaps([])).toBe('none');
    expect(describeCaps(capNames((1n << 41n) - 1n))).toBe('all 41');
    expect(describeCaps(capNames(0x1fffeffffffn))).toBe('all except CAP_SYS_RESOURCE');
    expect(describeCaps(capNames((1n << 42n) - 1n))).toBe('all 41, plus cap_41');
    expect(describeCaps(['CAP_KILL'])).toBe('CAP_KILL');
  });
});

describe('wrap', () => {
  it('packs words into lines and cuts an over-long word', () => {
    expect(wrap('aa bb cc', 5)).toEqual(['aa bb', 'cc']);
    expect(wrap('abcdefghij', 4)).toEqual(['abcd', 'efgh', 'ij']);
    expect(wrap('', 4)).toEqual(['']);
  });
});

describe('table', () => {
  const report = audit(loadFixture('v1-docker-root'));

  it('one row per check (id, found, verdict, fix), no colour unless asked, within the width', () => {
    const t = formatTable(report, { colour: false, width: 120 });
    const lines = t.split('\n');
    expect(lines[0]).toMatch(/^CHECK\s+FOUND\s+VERDICT\s+FIX$/);
    expect(t).not.toContain('\x1b[');
    expect(lines.every((l) => l.length <= 120)).toBe(true);
    expect(t).toMatch(/^uid \*\s+0 \(root\)\s+FAIL\s+k8s: securityContext\.runAsNonRoot: true/m);
    expect(t).toMatch(/^seccomp \*\s+filter \(1 filter\)\s+PASS$/m);
    for (const c of report.checks) expect(t).toMatch(new RegExp(`^${c.id}( \\*)? `, 'm'));
    expect(t).toContain('restricted profile: FAILS (uid, capabilities, no-new-privs)');
  });

  it('colours the verdict on a terminal', () => {
    const t = formatTable(report, { colour: true, width: 120 });
    expect(t).toContain('\x1b[31mFAIL');
    expect(t).toContain('\x1b[32mPASS');
  });

  it('names gVisor and what it leaves unknown', () => {
    const t = formatTable(audit(loadFixture('gvisor-runsc-do')), { colour: false, width: 100 });
    expect(t).toContain('sandbox: gVisor');
    expect(t).toMatch(/^no-new-privs \*\s+unknown \(not exposed by this\s/m);
  });

  it('says when the restricted checks pass but some were not exposed', () => {
    const input = loadFixture('v1-docker-hardened');
    input.files['/proc/self/status'] = (input.files['/proc/self/status'] as string).replace(/^NoNewPrivs:.*\n/m, '');
    expect(formatTable(audit(input), { colour: false, width: 100 })).toContain('restricted profile: passes, except what this kernel does not expose (no-new-privs)');
  });
});

describe('JSON', () => {
  it('is the report: checks with stable ids, verdicts, restricted, fixes; strictFailed; sandbox', () => {
    const report = audit(loadFixture('v1-docker-hardened'));
    const json = formatJson(report);
    expect(json.endsWith('}\n')).toBe(true);
    const parsed = JSON.parse(json);
    expect(parsed).toEqual(report);
    expect(Object.keys(parsed)).toEqual(['sandbox', 'strictFailed', 'checks']);
    expect(parsed.checks[0]).toEqual({
      id: 'uid', what: 'user id', found: '65534 (nobody)', verdict: 'pass', restricted: true,
      fix: { kubernetes: 'securityContext.runAsNonRoot: true, runAsUser: <uid>', docker: '--user <uid>:<gid> (or USER in the Dockerfile, or stepdown <user> -- <command>)' },
      detail: { real: 65534, effective: 65534, saved: 65534, filesystem: 65534 },
    });
  });
});
