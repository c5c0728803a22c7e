// Builds a home-like tree for the re-owning benchmarks: nested directories (8 subdirectories and
// 12 files each, breadth first, ~5 levels for 100k files), a few symlinks and small files, like a
// checkout plus node_modules; optionally every bigEvery-th file is 1 MiB (a shared library). Returns the number of entries, the root included.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';

export function buildTree(root, files, { uid, gid, bigEvery = 0 }) {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  let entries = 1;
  let made = 0;
  const queue = [root];
  for (let q = 0; made < files; q++) {
    const dir = queue[q];
    for (let f = 0; f < 12 && made < files; f++, made++, entries++) {
      if (made % 97 === 0) symlinkSync(`file${f - 1}.js`, `${dir}/link${f}`);
      else if (bigEvery && made % bigEvery === 1) writeFileSync(`${dir}/file${f}.so`, Buffer.alloc(1 << 20, made));
      else writeFileSync(`${dir}/file${f}.js`, made % 5 === 0 ? 'x'.repeat(200) : '');
    }
    // Subdirectories only while the queue is short of what the remaining files need.
    for (let d = 0; d < 8 && (queue.length - q - 1) * 12 < files - made; d++, entries++) {
      const sub = `${dir}/dir${d}`;
      mkdirSync(sub);
      queue.push(sub);
    }
  }
  setOwner(root, uid, gid);
  return entries;
}

/** chown -hR: resets a tree between runs (coreutils, single pass, never follows links). */
export function setOwner(root, uid, gid) {
  execFileSync('chown', ['-hR', `${uid}:${gid}`, root]);
}
