// The shipped Kubernetes manifests against the Pod Security Standards "restricted" profile
// (kubernetes.io/docs/concepts/security/pod-security-standards, baseline + restricted controls
// that a pod spec can express).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

type Obj = Record<string, any>;
const DIR = path.join(__dirname, '../../examples/kubernetes');

const ALLOWED_VOLUMES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];

/** Every restricted-profile violation in a pod spec, as readable strings. */
export function restrictedViolations(pod: Obj): string[] {
  const v: string[] = [];
  const psc: Obj = pod.securityContext ?? {};
  for (const k of ['hostNetwork', 'hostPID', 'hostIPC']) if (pod[k]) v.push(`${k} is true`);
  for (const vol of pod.volumes ?? []) {
    const type = Object.keys(vol).find((k) => k !== 'name');
    if (!type || !ALLOWED_VOLUMES.includes(type)) v.push(`volume ${vol.name} has type ${type}`);
  }
  const podSeccomp = psc.seccompProfile?.type;
  const containers: Obj[] = [...(pod.containers ?? []), ...(pod.initContainers ?? []), ...(pod.ephemeralContainers ?? [])];
  for (const c of containers) {
    const sc: Obj = c.securityContext ?? {};
    const name = `container ${c.name}`;
    if (sc.privileged) v.push(`${name} is privileged`);
    if (sc.allowPrivilegeEscalation !== false) v.push(`${name}: allowPrivilegeEscalation is not false`);
    const nonRoot = sc.runAsNonRoot ?? psc.runAsNonRoot;
    if (nonRoot !== true) v.push(`${name}: runAsNonRoot is not true`);
    if ((sc.runAsUser ?? psc.runAsUser) === 0) v.push(`${name}: runAsUser is 0`);
    const seccomp = sc.seccompProfile?.type ?? podSeccomp;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') v.push(`${name}: seccompProfile is ${seccomp}`);
    const caps = sc.capabilities ?? {};
    if (!(caps.drop ?? []).includes('ALL')) v.push(`${name}: capabilities do not drop ALL`);
    for (const cap of caps.add ?? []) if (cap !== 'NET_BIND_SERVICE') v.push(`${name}: adds capability ${cap}`);
    for (const p of c.ports ?? []) if (p.hostPort) v.push(`${name}: hostPort ${p.hostPort}`);
    if (sc.procMount && sc.procMount !== 'Default') v.push(`${name}: procMount ${sc.procMount}`);
  }
  return v;
}

function podSpecs(file: string): Obj[] {
  return parseAllDocuments(fs.readFileSync(path.join(DIR, file), 'utf8'))
    .map((d) => d.toJS() as Obj)
    .filter((o) => o.kind === 'Deployment')
    .map((o) => o.spec.template.spec);
}

describe('Kubernetes manifests', () => {
  it.each(['restricted.yaml', 'gvisor.yaml'])('%s meets Pod Security "restricted"', (file) => {
    const pods = podSpecs(file);
    expect(pods.length).toBe(1);
    for (const pod of pods) expect(restrictedViolations(pod)).toEqual([]);
  });

  it('restricted.yaml runs as the uid the images give their ENTRYPOINT user, read-only root', () => {
    const [pod] = podSpecs('restricted.yaml');
    expect(pod!.securityContext).toMatchObject({ runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001 });
    expect(pod!.containers[0].securityContext.readOnlyRootFilesystem).toBe(true);
    for (const f of ['debian.Dockerfile', 'node.Dockerfile']) {
      const text = fs.readFileSync(path.join(__dirname, '../../docker', f), 'utf8');
      expect(text).toContain('useradd --uid 10001 --gid app');
      expect(text).toContain('ENTRYPOINT ["stepdown", "app", "--"]');
    }
  });

  it('the checker catches what the root-start variant does (so it can fail)', () => {
    const [pod] = podSpecs('root-start.yaml');
    expect(restrictedViolations(pod!)).toEqual([
      'volume data has type hostPath',
      'container app: runAsNonRoot is not true',
      'container app: runAsUser is 0',
      'container app: adds capability SETUID',
      'container app: adds capability SETGID',
      'container app: adds capability CHOWN',
    ]);
  });

  it('gvisor.yaml names a RuntimeClass whose handler is runsc', () => {
    const docs = parseAllDocuments(fs.readFileSync(path.join(DIR, 'gvisor.yaml'), 'utf8')).map((d) => d.toJS() as Obj);
    const rc = docs.find((d) => d.kind === 'RuntimeClass');
    expect(rc).toMatchObject({ handler: 'runsc', metadata: { name: 'gvisor' } });
    expect(podSpecs('gvisor.yaml')[0]!.runtimeClassName).toBe('gvisor');
  });
});
