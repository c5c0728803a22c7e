// reownTrees' argument checks (the walk itself runs as root: test/integration/reown.test.ts).
import { describe, expect, it } from 'vitest';
import { reownTrees } from '../../../src/remap/reown.js';

describe('reownTrees argument checks (before any file system access)', () => {
  const to = { uid: 1, gid: 1 };
  it('rejects ids that are not 32-bit unsigned integers (or the -1 "unchanged" value)', async () => {
    for (const bad of [-1, 1.5, 0xffffffff, Number.NaN]) {
      await expect(reownTrees({ roots: [], from: { uid: bad, gid: 0 }, to })).rejects.toThrow(RangeError);
      await expect(reownTrees({ roots: [], from: to, to: { uid: 0, gid: bad } })).rejects.toThrow(RangeError);
    }
  });

  it('refuses "/"', async () => {
    await expect(reownTrees({ roots: ['/home', '/'], from: { uid: 0, gid: 0 }, to })).rejects.toThrow(/refusing/);
  });
});
