#!/usr/bin/env node
// Runs the workspace's turbo with its anonymous telemetry and update notice off, so `npm run build`, `npm test` and
// `npm run demo` print only cadmap's own output on a first run. Turbo reads these settings only from the
// environment or the user's global config, and npm scripts cannot set an environment variable on every platform.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const turbo = createRequire(import.meta.url).resolve('turbo/bin/turbo');
const env = { TURBO_TELEMETRY_DISABLED: '1', TURBO_NO_UPDATE_NOTIFIER: '1', ...process.env };
const result = spawnSync(process.execPath, [turbo, ...process.argv.slice(2)], { env, stdio: 'inherit' });
if (result.error !== undefined) {
  console.error(`could not start turbo: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
