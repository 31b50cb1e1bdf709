import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { CliIo } from '../../packages/cli/src/io.js';
import { projectRoot } from './fixtures.js';

/** An in-process CLI IO that records what the command writes. */
export function captureIo(cwd: string, env: Record<string, string | undefined> = {}): CliIo & { stdout(): string; stderr(): string } {
  let out = '';
  let err = '';
  return {
    cwd,
    env,
    stdout: Object.assign(() => out, { write: (text: string) => (out += text) }),
    stderr: Object.assign(() => err, { write: (text: string) => (err += text) }),
  };
}

export const cliBin = join(projectRoot, 'packages/cli/dist/bin.js');

/** Runs the built `cadmap` binary as a user would, in a child process. */
export function runCli(args: readonly string[], options: { cwd?: string; env?: Record<string, string>; input?: string } = {}): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cliBin, ...args], {
    cwd: options.cwd ?? projectRoot,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    encoding: 'utf8',
    ...(options.input !== undefined ? { input: options.input } : {}),
    maxBuffer: 256 * 1024 * 1024,
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}
