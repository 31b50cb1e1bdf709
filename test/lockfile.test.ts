import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtureTree, projectRoot, scratchDirectory } from './support/fixtures.js';
import { lockfileProblems } from './support/lockfile.js';

const fix = 'Run `npm install` and commit package-lock.json, so that `npm ci` on a fresh clone installs exactly it.';

describe('package-lock.json', () => {
  it('agrees with every package.json and records every package an install on any platform needs', () => {
    const problems = lockfileProblems(projectRoot);
    expect(problems, `${problems.join('\n')}\n${fix}`).toEqual([]);
  });
});

describe('the lockfile check', () => {
  const manifest: { name: string; version: string; workspaces: string[]; devDependencies: Record<string, string> } = {
    name: 'demo', version: '1.0.0', workspaces: ['packages/*'], devDependencies: { turbo: '^2.0.0' },
  };
  const workspace = { name: '@demo/a', version: '0.1.0', dependencies: { tiny: '^1.2.0' } };
  const lock = {
    name: 'demo',
    lockfileVersion: 3,
    packages: {
      '': { name: 'demo', workspaces: ['packages/*'], devDependencies: { turbo: '^2.0.0' } },
      'node_modules/@demo/a': { resolved: 'packages/a', link: true },
      'packages/a': { name: '@demo/a', version: '0.1.0', dependencies: { tiny: '^1.2.0' } },
      'node_modules/tiny': { version: '1.4.0' },
      'node_modules/turbo': { version: '2.1.0', optionalDependencies: { '@turbo/linux-64': '2.1.0', '@turbo/darwin-64': '2.1.0' } },
      'node_modules/@turbo/linux-64': { version: '2.1.0', optional: true },
      'node_modules/@turbo/darwin-64': { version: '2.1.0', optional: true },
    },
  };
  const tree = (changes: (copy: typeof lock, rootManifest: typeof manifest) => void): string => {
    const copy = structuredClone(lock);
    const rootManifest = structuredClone(manifest);
    changes(copy, rootManifest);
    return fixtureTree({
      'package.json': JSON.stringify(rootManifest),
      'packages/a/package.json': JSON.stringify(workspace),
      'package-lock.json': JSON.stringify(copy),
    });
  };

  it('passes a complete lockfile', () => {
    expect(lockfileProblems(tree(() => undefined))).toEqual([]);
  });

  it('names a platform binary the lockfile leaves out (a fresh install would add it)', () => {
    const problems = lockfileProblems(tree((copy) => {
      delete (copy.packages as Record<string, unknown>)['node_modules/@turbo/darwin-64'];
    }));
    expect(problems).toEqual(['node_modules/turbo needs @turbo/darwin-64@2.1.0, which package-lock.json does not record.']);
  });

  it('names a dependency declared in package.json but not in the lockfile', () => {
    const problems = lockfileProblems(tree((_copy, rootManifest) => {
      rootManifest.devDependencies = { ...rootManifest.devDependencies, vitest: '^4.0.0' };
    }));
    expect(problems).toEqual(['package.json devDependencies says vitest@^4.0.0 but package-lock.json records vitest@(absent).']);
  });

  it('names a locked version outside the declared range', () => {
    const problems = lockfileProblems(tree((copy) => {
      copy.packages['node_modules/tiny'] = { version: '2.0.0' };
    }));
    expect(problems).toEqual(['packages/a needs tiny@^1.2.0 but package-lock.json records tiny@2.0.0 where it resolves.']);
  });

  it('is the lockfile CI installs from with npm ci', () => {
    expect(readFileSync(new URL('../.ci/run', import.meta.url), 'utf8')).toMatch(/^npm ci\b/m);
  });
});

describe('the README commands on a first run', () => {
  it('run turbo without its telemetry notice', () => {
    const home = scratchDirectory('cadmap-home-');
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_CONFIG_HOME: home };
    delete env.TURBO_TELEMETRY_DISABLED;
    delete env.DO_NOT_TRACK;
    const printed = spawnSync(process.execPath, [join(projectRoot, 'scripts/turbo.mjs'), 'run', 'build', '--dry=json'], { cwd: projectRoot, env, encoding: 'utf8' });
    expect(printed.status).toBe(0);
    expect(`${printed.stdout}${printed.stderr}`).not.toMatch(/telemetry/i);
    expect(JSON.parse(printed.stdout)).toHaveProperty('tasks');
  });
});
