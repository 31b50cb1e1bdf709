import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

/** The repository root (the folder with the root package.json). */
export const projectRoot = fileURLToPath(new URL('../../', import.meta.url));

const scratchDirectories: string[] = [];
afterAll(() => {
  for (const directory of scratchDirectories.splice(0)) {rmSync(directory, { recursive: true, force: true });}
});

/** A fresh temporary directory named `<prefix>XXXXXX`, removed after the test file's last test. */
export function scratchDirectory(prefix = 'cadmap-'): string {
  const directory = mkdtempSync(join(tmpdir(), prefix));
  scratchDirectories.push(directory);
  return directory;
}

/** Writes a tree of files (path → text or bytes) into a scratch directory and returns its path. */
export function fixtureTree(files: Readonly<Record<string, string | Uint8Array>>): string {
  const root = scratchDirectory();
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
