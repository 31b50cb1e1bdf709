import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { writePrivateFile } from '../output.js';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { dpsFaultKinds, startDpsSandbox, type DpsFaultKind, type JsonWebKeySet } from '@cadmap/sandbox';
import { stringify } from 'yaml';
import { exitCodes, untilSignal, UsageError, type CliIo } from '../io.js';
import { rawStream } from '../log.js';

export const sandboxHelp = `cadmap sandbox [options]

Starts a local DPS (Ambulance Data Submission API) over HTTPS on 127.0.0.1 with a fresh CA, server
certificate and application key pair, writes a ready-to-use config into a directory, and runs until Ctrl-C.

Options:
      --dir <dir>           where to write cadmap.config.yaml, private-key.pem, jwks.json and ca.pem
                            (default ./.cadmap-sandbox)
      --port <n>            port to listen on (default: any free port)
      --key-bits <n>        RSA key size of the generated application key (default 4096)
      --faults <list>       inject faults, e.g. rate-limit=0.05,server-error=0.05,drop=0.02,slow=0.02,lost-after-accept=0.02
      --receipt-field <f>   message (default) or id
      --jwks <file>         register your own public key set instead of generating a key pair
                            (then give cadmap your private key: CADMAP_DPS_PRIVATE_KEY_FILE)
      --api-key <key>       the application's API key (default: random)`;

export interface SandboxDependencies {
  /** Resolves when the sandbox should stop (default: SIGINT/SIGTERM). */
  readonly untilStopped?: () => Promise<void>;
}

function parseFaults(text: string | undefined): Partial<Record<DpsFaultKind, number>> | undefined {
  if (text === undefined) {
    return undefined;
  }
  const rates: Partial<Record<DpsFaultKind, number>> = {};
  for (const part of text.split(',').filter((p) => p.trim() !== '')) {
    const [name = '', value = ''] = part.split('=').map((s) => s.trim());
    const rate = Number(value);
    if (!(dpsFaultKinds as readonly string[]).includes(name) || !(rate >= 0 && rate <= 1)) {
      throw new UsageError(`--faults takes kind=rate pairs with kinds ${dpsFaultKinds.join(', ')} and rates from 0 to 1 (got '${part}').`);
    }
    rates[name as DpsFaultKind] = rate;
  }
  return rates;
}

function readJwks(file: string): { jwks: JsonWebKeySet; kid: string } {
  let jwks: JsonWebKeySet;
  try {
    jwks = JSON.parse(readFileSync(file, 'utf8')) as JsonWebKeySet;
  } catch (error) {
    throw new UsageError(`Cannot read the JWKS ${file}: ${(error as Error).message}`);
  }
  const keys: readonly { kty?: unknown; kid?: unknown }[] = Array.isArray(jwks.keys) ? jwks.keys : [];
  const kid = keys.find((key) => key.kty === 'RSA' && typeof key.kid === 'string')?.kid;
  if (typeof kid !== 'string') {
    throw new UsageError(`The JWKS ${file} has no RSA key with a kid: expected {"keys": [{"kty": "RSA", "kid": …, "alg": "RS512", "n": …, "e": …}]}.`);
  }
  return { jwks, kid };
}

/** Makes `cadmap sandbox`; tests inject when to stop. */
export function createSandboxCommand(dependencies: SandboxDependencies = {}): (io: CliIo, argv: readonly string[]) => Promise<number> {
  return async (io, argv) => {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        dir: { type: 'string' },
        port: { type: 'string' },
        'key-bits': { type: 'string' },
        faults: { type: 'string' },
        'receipt-field': { type: 'string' },
        jwks: { type: 'string' },
        'api-key': { type: 'string' },
      },
    });
    const port = values.port === undefined ? 0 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new UsageError('--port takes a port number (0 for any free port).');
    }
    const keyBits = values['key-bits'] === undefined ? 4096 : Number(values['key-bits']);
    if (![2048, 3072, 4096].includes(keyBits)) {
      throw new UsageError('--key-bits takes 2048, 3072 or 4096.');
    }
    const receiptField = values['receipt-field'] ?? 'message';
    if (receiptField !== 'message' && receiptField !== 'id') {
      throw new UsageError("--receipt-field takes 'message' or 'id'.");
    }
    const rates = parseFaults(values.faults);
    const dir = resolve(io.cwd, values.dir ?? '.cadmap-sandbox');

    const ownJwks = values.jwks !== undefined ? readJwks(resolve(io.cwd, values.jwks)) : undefined;
    const sandbox = await startDpsSandbox({
      port,
      keyBits: ownJwks ? 2048 : keyBits,
      receiptField,
      ...(rates ? { faults: { rates } } : {}),
      ...(ownJwks ? { jwks: ownJwks.jwks, kid: ownJwks.kid } : {}),
      ...(values['api-key'] !== undefined ? { apiKey: values['api-key'] } : {}),
    });
    try {
      mkdirSync(dir, { recursive: true });
      const keyFile = ownJwks ? '<your private-key.pem>' : join(dir, 'private-key.pem');
      if (!ownJwks) {
        writePrivateFile(keyFile, sandbox.privateKeyPem);
      }
      writeFileSync(join(dir, 'jwks.json'), `${JSON.stringify(sandbox.jwks, null, 2)}\n`);
      writeFileSync(join(dir, 'ca.pem'), sandbox.ca);
      const config = {
        dps: {
          baseUrl: sandbox.url,
          tokenUrl: sandbox.tokenUrl,
          apiKey: sandbox.apiKey,
          kid: sandbox.kid,
          ...(ownJwks ? {} : { privateKeyFile: 'private-key.pem' }),
          caFile: 'ca.pem',
          rateLimit: false,
        },
      };
      const configFile = join(dir, 'cadmap.config.yaml');
      writeFileSync(configFile, `# Written by 'cadmap sandbox' for the local DPS sandbox; valid while it runs.\n# The local sandbox has no quota, so the client-side rate limit is off.\n${stringify(config)}`);
      const shown = relative(io.cwd, configFile) || configFile;
      // Shows the sandbox's own API key on purpose: written past the redaction.
      rawStream(io.stdout).write(
        [
          `DPS sandbox ready on ${sandbox.url}`,
          `  token endpoint: ${sandbox.tokenUrl}`,
          `  API key: ${sandbox.apiKey} · kid: ${sandbox.kid}${rates ? ` · faults: ${values.faults}` : ''}`,
          `  wrote ${shown} with ${ownJwks ? '' : 'private-key.pem, '}jwks.json and ca.pem in ${relative(io.cwd, dir) || dir}`,
          '',
          'Point cadmap at it:',
          `  ${ownJwks ? 'CADMAP_DPS_PRIVATE_KEY_FILE=<your private-key.pem> ' : ''}cadmap submit --config ${shown} --mapping <mapping.yaml> <inputs…>`,
          'or with environment variables:',
          `  export CADMAP_DPS_BASE_URL=${sandbox.url} CADMAP_DPS_TOKEN_URL=${sandbox.tokenUrl}`,
          `  export CADMAP_DPS_API_KEY=${sandbox.apiKey} CADMAP_DPS_KID=${sandbox.kid}`,
          `  export CADMAP_DPS_PRIVATE_KEY_FILE=${keyFile} CADMAP_DPS_CA_FILE=${join(dir, 'ca.pem')}`,
          '',
          'Press Ctrl-C to stop.',
          '',
        ].join('\n'),
      );
      await (dependencies.untilStopped ?? untilSignal)();
      const state = sandbox.accepted();
      io.stdout.write(`DPS sandbox stopped: ${state.submissions.length} bundles accepted (${state.latestByCall.size} calls, ${state.duplicates} duplicates).\n`);
    } finally {
      await sandbox.close();
    }
    return exitCodes.ok;
  };
}

export const sandboxCommand = createSandboxCommand();
