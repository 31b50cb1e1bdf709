import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the folder with the root package.json). */
export const projectRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Writes a tree of files (path → text or bytes) into a fresh temporary directory and returns its path. */
export function fixtureTree(files: Readonly<Record<string, string | Uint8Array>>): string {
  const root = mkdtempSync(join(tmpdir(), 'cadmap-'));
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
  return root;
}

/** Replaces a directory prefix by <root> so snapshots do not depend on where tests run. */
export function normalisePaths(text: string, root: string): string {
  return text.split(root.endsWith('/') ? root.slice(0, -1) : root).join('<root>');
}
