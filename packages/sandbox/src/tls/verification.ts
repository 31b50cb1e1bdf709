import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Runs `run` with the environment variable `name` set to `value`, restoring what it was afterwards. */
export async function withEnvironment<T>(name: string, value: string, run: () => Promise<T>): Promise<T> {
  const before = process.env[name];
  process.env[name] = value;
  try {
    return await run();
  } finally {
    if (before === undefined) {
      delete process.env[name];
    } else {
      process.env[name] = before;
    }
  }
}

/** Options or settings that would turn TLS verification off, in any spelling a source file could use. */
const verificationOff = /rejectUnauthorized:\s*false|checkServerIdentity|NODE_TLS_REJECT_UNAUTHORIZED|insecure/i;

/**
 * Scans the TypeScript sources under `dir` (tests left out) for anything that could turn TLS verification off:
 * one line per problem (an option or setting that disables it, or an undici `new Agent(` without
 * `rejectUnauthorized: true` beside it), and how many files were read.
 */
export function verificationOverrides(dir: string): { readonly files: number; readonly problems: readonly string[] } {
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'));
  const problems: string[] = [];
  for (const file of files) {
    const text = readFileSync(join(dir, file), 'utf8');
    const off = verificationOff.exec(text);
    if (off) {
      problems.push(`${file}: ${off[0]}`);
    }
    const agents = text.match(/new Agent\(/g)?.length ?? 0;
    const verified = text.match(/rejectUnauthorized: true/g)?.length ?? 0;
    if (agents !== verified) {
      problems.push(`${file}: ${agents} \`new Agent(\` but ${verified} \`rejectUnauthorized: true\``);
    }
  }
  return { files: files.length, problems };
}
