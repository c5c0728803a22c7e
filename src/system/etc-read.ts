// Reads /etc/passwd and /etc/group as bytes (see etc-files.ts). A missing file counts as empty.
import * as fs from 'node:fs';
import { errnoCode, fail } from './errors.js';
import { fromBytes } from './etc-files.js';
import type { EtcDb } from '../identity/resolve.js';

function readEtc(path: string): Buffer {
  try {
    return fs.readFileSync(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return Buffer.alloc(0);
    fail(`cannot read ${path}: ${errnoCode(err) ?? String(err)}`);
  }
}

export function readDb(): EtcDb {
  return { passwd: fromBytes(readEtc('/etc/passwd')), group: fromBytes(readEtc('/etc/group')) };
}
