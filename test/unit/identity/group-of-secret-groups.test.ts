// Review finding: --group-of refuses a gid that is a privileged group of the image "because a host
// gid that happens to be the image's shadow is an accident, not a grant", but its list misses the
// groups Debian and Fedora images keep only to read private keys: ssl-cert (/etc/ssl/private,
// 0710 root:ssl-cert) and ssh_keys (/etc/ssh/ssh_host_*_key, 0640 root:ssh_keys). A host's
// docker.sock gid that happens to be one of them gives the app the image's TLS or SSH host keys.
import { describe, expect, it } from 'vitest';
import { type GroupOfContext, type PathGroup, addGroupsOf } from '../../../src/identity/group-of.js';
import type { Identity } from '../../../src/identity/resolve.js';
import { splitLines } from '../../../src/system/etc-files.js';

const APP: Identity = { uid: 1000, gid: 1000, groups: [1000], home: '/home/app', userName: 'app' };
const GROUP = splitLines('root:x:0:\nssl-cert:x:101:\nssh_keys:x:998:\napp:x:1000:\n');
const AS_ROOT: GroupOfContext = { root: true, held: [0], group: GROUP, allowSystemIds: false };

describe('addGroupsOf: groups that exist to read private keys', () => {
  it.each([
    ['ssl-cert', 101],
    ['ssh_keys', 998],
  ])("refuses gid of '%s' unless --allow-system-ids", (name, gid) => {
    const sock: PathGroup = { path: '/var/run/docker.sock', what: '--group-of /var/run/docker.sock', file: '/var/run/docker.sock', uid: 0, gid, looked: [] };
    expect(() => addGroupsOf(APP, [sock], AS_ROOT)).toThrow(
      `--group-of /var/run/docker.sock: its group is gid ${gid}, which is '${name}' in this image's /etc/group and carries rights here; if that group is meant, add --allow-system-ids (STEPDOWN_ALLOW_SYSTEM_IDS=1)`,
    );
    expect(addGroupsOf(APP, [sock], { ...AS_ROOT, allowSystemIds: true }).groups).toEqual([1000, gid]);
  });
});
