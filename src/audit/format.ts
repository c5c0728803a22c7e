// The audit report as a table (one row per check: what, found, verdict, fix; cells wrapped to
// the width) or as JSON. Pure: colour and width are the caller's decision.
import type { AuditReport, Check, Verdict } from './checks.js';

const COLOUR: Record<Verdict, string> = { pass: '\x1b[32m', warn: '\x1b[33m', fail: '\x1b[31m', unknown: '\x1b[2m' };
const RESET = '\x1b[0m';
const MAX_WIDTH = 400;

export function formatJson(report: AuditReport): string {
  return JSON.stringify(report, null, 2) + '\n';
}

/** Words of text packed into lines of at most width characters; an over-long word is cut. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (let word of text.split(/\s+/).filter(Boolean)) {
    while (word.length > width) {
      if (line) lines.push(line);
      lines.push(word.slice(0, width));
      word = word.slice(width);
      line = '';
    }
    if (!word) continue;
    if (!line) line = word;
    else if (line.length + 1 + word.length <= width) line += ' ' + word;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line || lines.length === 0) lines.push(line);
  return lines;
}

function fixText(c: Check): string {
  return c.verdict === 'pass' ? '' : `k8s: ${c.fix.kubernetes}; docker: ${c.fix.docker}`;
}

export function formatTable(report: AuditReport, opts: { colour: boolean; width: number }): string {
  // COLUMNS comes from the environment: a huge value must not build gigabyte-wide rows
  const width = Math.min(Math.max(opts.width, 80), MAX_WIDTH);
  const headers = ['CHECK', 'FOUND', 'VERDICT', 'FIX'];
  const rows = report.checks.map((c) => [c.id + (c.restricted ? ' *' : ''), c.found, c.verdict.toUpperCase(), fixText(c)]);
  const idWidth = Math.max(headers[0]!.length, ...rows.map((r) => r[0]!.length));
  const verdictWidth = 'UNKNOWN'.length;
  const rest = width - idWidth - verdictWidth - 3 * 2;
  const foundWidth = Math.max(24, Math.floor(rest * 0.5));
  const fixWidth = Math.max(20, rest - foundWidth);
  const widths = [idWidth, foundWidth, verdictWidth, fixWidth];

  const out: string[] = [];
  const emit = (cells: string[], verdict?: Verdict) => {
    const wrapped = cells.map((cell, i) => wrap(cell, widths[i]!));
    const height = Math.max(...wrapped.map((w) => w.length));
    for (let l = 0; l < height; l++) {
      const parts = wrapped.map((w, i) => {
        const s = (w[l] ?? '').padEnd(i === 3 ? 0 : widths[i]!);
        return i === 2 && verdict && opts.colour && w[l] ? COLOUR[verdict] + s + RESET : s;
      });
      out.push(parts.join('  ').trimEnd());
    }
  };
  emit(headers);
  report.checks.forEach((c, i) => emit(rows[i]!, c.verdict));

  out.push('');
  out.push('* required by the Kubernetes "restricted" Pod Security profile (--strict fails on these)');
  if (report.sandbox === 'gvisor') {
    out.push('sandbox: gVisor (its /proc omits some lines; those checks say unknown)');
  }
  const failed = report.checks.filter((c) => c.restricted && c.verdict === 'fail').map((c) => c.id);
  const unknown = report.checks.filter((c) => c.restricted && c.verdict === 'unknown').map((c) => c.id);
  out.push(
    failed.length > 0
      ? `restricted profile: FAILS (${failed.join(', ')})`
      : `restricted profile: passes${unknown.length > 0 ? `, except what this kernel does not expose (${unknown.join(', ')})` : ''}`,
  );
  return out.join('\n') + '\n';
}
