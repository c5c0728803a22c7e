// --audit: read, judge, print; run nothing. A table for people (colour only on a terminal
// without NO_COLOR, wrapped to COLUMNS), JSON for programs.
import { printOut } from '../system/output.js';
import { isTerminal } from '../system/terminal.js';
import { audit } from './checks.js';
import { formatJson, formatTable } from './format.js';
import { readAuditInput } from './read.js';

/** The exit status: 1 only for --strict with a failed restricted check. */
export function runAudit(json: boolean, strict: boolean): number {
  const report = audit(readAuditInput());
  if (json) printOut(formatJson(report));
  else {
    const columns = Number(process.env.COLUMNS);
    const colour = isTerminal(1) && process.env.NO_COLOR === undefined;
    printOut(formatTable(report, { colour, width: Number.isInteger(columns) && columns > 0 ? columns : 120 }));
  }
  return strict && report.strictFailed ? 1 : 0;
}
