// Reads /etc/passwd and /etc/group as bytes (see etc-files.ts). A missing file counts as empty.
// Each must be a regular file (a symlink to one is fine: images and bind mounts use them) of at
// most MAX_ETC_BYTES: a FIFO or a device there would hang or exhaust memory.
import { errnoCode, fail } from './errors.js';
import { fromBytes } from './etc-files.js';
import type { EtcDb } from '../identity/resolve.js';
import { UnreadableFile, readRegular } from './read-regular.js';

/** Far above any real account database. */
export const MAX_ETC_BYTES = 64 * 1024 * 1024;

function readEtc(path: string): Buffer {
  try {
    return readRegular(path, MAX_ETC_BYTES, true);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return Buffer.alloc(0);
    if (err instanceof UnreadableFile) fail(`${path} ${err.detail}; stepdown reads it only as a regular file of at most 64 MiB: fix the image or the mount`);
    fail(`cannot read ${path}: ${errnoCode(err) ?? String(err)}`);
  }
}

export function readDb(): EtcDb {
  return { passwd: fromBytes(readEtc('/etc/passwd')), group: fromBytes(readEtc('/etc/group')) };
}
