// The one mountinfo parser: what --audit reads of each mount, and the raw mount points the
// remap's walk stops at.
import { describe, expect, it } from 'vitest';
import { isReadOnly, mountOf, mountPoints, parseMountinfo, pathsToProbe, visibleMounts } from '../../../src/system/mountinfo.js';

const text = [
  '36 35 98:0 /mnt1 /mnt\\0402 rw,noatime master:1 - ext3 /dev/root rw,errors=continue',
  '26 1 254:0 / / ro,relatime - ext4 /dev/vda rw',
  '40 26 0:20 / /proc rw,relatime - proc proc rw',
  '41 26 0:21 / /data rw shared:1 - tmpfs tmp rw',
  '42 26 0:22 / /data ro - tmpfs tmp2 rw',
  'truncated line',
  '',
].join('\n');

describe('parseMountinfo', () => {
  it('reads every field around the optional fields and the dash, unescaping paths', () => {
    const [m] = parseMountinfo(text);
    expect(m).toEqual({
      root: '/mnt1', point: '/mnt 2', options: ['rw', 'noatime'], fstype: 'ext3', source: '/dev/root',
      superOptions: ['rw', 'errors=continue'],
    });
    expect(parseMountinfo(text)).toHaveLength(5); // the truncated line is skipped, never guessed
  });

  it('lets a later mount on the same point shadow the earlier one', () => {
    const visible = visibleMounts(parseMountinfo(text));
    expect(visible.filter((m) => m.point === '/data').map((m) => m.source)).toEqual(['tmp2']);
    expect(isReadOnly(mountOf(visible, '/data/x')!)).toBe(true);
    expect(mountOf(visible, '/datum')!.point).toBe('/');
  });

  it('probes writable non-pseudo mount points and the usual world-writable directories', () => {
    expect(pathsToProbe(text)).toEqual(['/etc/passwd', '/tmp', '/var/tmp', '/dev/shm', '/run/lock', '/mnt 2']);
  });
});

describe('mountPoints', () => {
  it('keeps the bytes of a mount point that is not UTF-8', () => {
    const raw = Buffer.concat([Buffer.from('1 2 0:1 / /caf'), Buffer.from([0xe9]), Buffer.from('\\134 rw - t t rw\n1 2 3\n')]);
    expect(mountPoints(raw)).toEqual([Buffer.concat([Buffer.from('/caf'), Buffer.from([0xe9]), Buffer.from('\\')])]);
  });
});
