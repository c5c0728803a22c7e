// STEPDOWN_REMAP in a real container (docker/debian.Dockerfile, ENTRYPOINT `stepdown app --`),
// the PUID/PGID use: a host directory bind-mounted at /data, the ids given with `docker run -e`,
// --chown /data for what the app made there under its old ids. What the app creates belongs to
// the given ids on the host; a restart is a no-op. Under runc and gVisor (runsc).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E2E, REPO, RUNTIMES, SEA, SUMS, build, docker, requireEngine } from '../helpers/docker.js';

const IMAGE = 'stepdown-e2e/debian-remap';

beforeAll(() => {
  if (!E2E) return;
  requireEngine();
  build(IMAGE, path.join(REPO, 'docker/debian.Dockerfile'), { 'stepdown-linux-x64': SEA, SHA256SUMS: SUMS });
}, 600_000);

describe.runIf(E2E).each(RUNTIMES)('STEPDOWN_REMAP in a container (%s)', (runtime) => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });
  const owner = (p: string) => {
    const st = fs.lstatSync(p);
    return `${st.uid}:${st.gid}`;
  };

  it('-e STEPDOWN_REMAP=4321:4322 -v hostdir:/data --chown /data: the app runs as 4321:4322, its new files are 4321:4322 on the host, the old ones re-owned; a restart changes nothing', () => {
    const data = fs.mkdtempSync(path.join(os.tmpdir(), 'stepdown-vol-'));
    dirs.push(data);
    fs.chownSync(data, 10001, 10001); // the app made it under its image uid
    for (const [name, uid, gid] of [['old', 10001, 10001], ['hosts', 4321, 4322], ['other', 7, 7]] as const) {
      fs.writeFileSync(path.join(data, name), name);
      fs.chownSync(path.join(data, name), uid, gid);
    }
    const name = `stepdown-e2e-remap-${runtime}-${process.pid}`;
    const script = 'touch /data/by-app-$(date +%s%N) && id && find /home/app -maxdepth 0 -printf "%U %G %p\\n"'; // find, not stat: gVisor's statx
    try {
      const first = docker(['run', `--runtime=${runtime}`, '--name', name, '-e', 'STEPDOWN_REMAP=4321:4322', '-v', `${data}:/data`, '--entrypoint', 'stepdown', IMAGE, '--chown', '/data', 'app', '--', 'sh', '-c', script]);
      expect(first.stderr).toMatch(/^stepdown: app is now uid 4321 gid 4322 \(was 10001:10001\); wrote \/etc\/group and \/etc\/passwd; re-owned 6 of 8 entries in \/home\/app, \/data \([0-9.]+ s\)\n$/);
      expect(first.status).toBe(0);
      expect(first.stdout).toBe('uid=4321(app) gid=4322(app) groups=4322(app)\n4321 4322 /home/app\n');
      const made = fs.readdirSync(data).filter((n) => n.startsWith('by-app-'));
      expect(made.length).toBe(1);
      expect(Object.fromEntries(['', 'old', 'hosts', 'other', made[0]!].map((n) => [n, owner(path.join(data, n))]))).toEqual({
        '': '4321:4322', old: '4321:4322', hosts: '4321:4322', other: '7:7', [made[0]!]: '4321:4322',
      });
      const second = docker(['start', '-a', name]);
      expect([second.status, second.stderr]).toEqual([0, '']);
      expect(second.stdout).toBe(first.stdout);
      expect(fs.readdirSync(data).filter((n) => n.startsWith('by-app-')).length).toBe(2);
      expect(fs.readdirSync(data).map((n) => owner(path.join(data, n))).sort()).toEqual(['4321:4322', '4321:4322', '4321:4322', '4321:4322', '7:7']);
    } finally {
      docker(['rm', '-f', name]);
    }
  });

  it('-e STEPDOWN_REMAP=0:0 (or a system id) is refused in one line, exit 125, nothing run; -e STEPDOWN_REMAP= is off', () => {
    const root = docker(['run', '--rm', `--runtime=${runtime}`, '-e', 'STEPDOWN_REMAP=0:0', IMAGE, 'touch', '/tmp/ran']);
    expect([root.status, root.stdout, root.stderr]).toEqual([125, '', "stepdown: STEPDOWN_REMAP='0:0': uid 0 is root; a remap never makes anyone root: give the ids of the host user who owns the files\n"]);
    const shadow = docker(['run', '--rm', `--runtime=${runtime}`, '-e', 'STEPDOWN_REMAP=4321:42', IMAGE, 'id']);
    expect([shadow.status, shadow.stdout]).toEqual([125, '']);
    expect(shadow.stderr).toMatch(/^stepdown: --remap 4321:42 asks for gid 42, which is group shadow, which carries rights in the image: app would get its rights; refusing\. .*\n$/);
    const off = docker(['run', '--rm', `--runtime=${runtime}`, '-e', 'STEPDOWN_REMAP=', IMAGE, 'id', '-u']);
    expect([off.status, off.stdout, off.stderr]).toEqual([0, '10001\n', '']);
  });
});
