import { existsSync } from 'node:fs';
import { it } from 'vitest';

/** Debian's Chromium, which playwright-core drives for the browser tests; CADMAP_CHROMIUM points elsewhere. */
export const chromiumPath = process.env.CADMAP_CHROMIUM ?? '/usr/bin/chromium';

/** Flags for a headless Chromium on a machine with a closed network, as root. */
export const chromiumArgs = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const installHint = `Chromium is not installed at ${chromiumPath}: run \`apt-get install chromium\` (Debian) or set CADMAP_CHROMIUM to its path.`;

/**
 * A browser test: it runs wherever Chromium is installed, and in CI (CI=true) it always runs, so a missing Chromium
 * fails it with the install hint instead of passing unseen. Elsewhere a missing Chromium shows it as skipped.
 */
export function itInChromium(name: string, body: () => Promise<void>, timeout?: number): void {
  const runs = existsSync(chromiumPath) || process.env.CI === 'true';
  (runs ? it : it.skip)(name, body, timeout);
}

/** Throws the install hint when Chromium is missing; call it first in an `itInChromium` test. */
export function requireChromium(): string {
  if (!existsSync(chromiumPath)) {throw new Error(installHint);}
  return chromiumPath;
}
