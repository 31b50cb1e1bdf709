#!/usr/bin/env node
// `npm run demo`: the README main job in one command. Maps and checks every sample vendor, starts a local DPS and
// MESH sandbox in-process, submits with the ledger, polls MESH for the error notifications, reconciles them and
// writes out/cadmap-report.html (see `cadmap demo --help`). In this workspace UK Core STU2 sits beside the repository in
// ../shared/reference; elsewhere set CADMAP_PACKAGES or install uk.core.r4 in ~/.fhir/packages.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const env = { ...process.env };
const ukCore = `${root}../shared/reference/ukcore/json`;
if (env.CADMAP_PACKAGES === undefined && existsSync(ukCore)) {
  env.CADMAP_PACKAGES = ['structuredefinitions', 'valuesets', 'codesystems'].map((folder) => `${ukCore}/${folder}`).join(':');
}
const result = spawnSync(process.execPath, [`${root}packages/cli/dist/bin.js`, 'demo', ...process.argv.slice(2)], { cwd: root, env, stdio: 'inherit' });
process.exit(result.status ?? 1);
