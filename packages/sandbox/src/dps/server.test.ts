import { createPrivateKey, createSign, generateKeyPairSync, randomUUID } from 'node:crypto';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDpsSandbox, type DpsSandbox } from './server.js';
import { tokenErrors } from './token-endpoint.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function post(sandbox: DpsSandbox, url: string, body: string, headers: Record<string, string>, method = 'POST'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, ca: sandbox.ca, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const b64u = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A JWT signed as the header says (RS256 or RS512), with any header and claims, valid or not. */
function craft(header: Record<string, unknown>, claims: Record<string, unknown>, pem: string): string {
  const input = `${b64u(header)}.${b64u(claims)}`;
  const hash = header.alg === 'RS256' ? 'RSA-SHA256' : 'RSA-SHA512';
  return `${input}.${createSign(hash).update(input).sign(createPrivateKey(pem)).toString('base64url')}`;
}

const form = (fields: Record<string, string>): string => new URLSearchParams(fields).toString();
const formType = { 'content-type': 'application/x-www-form-urlencoded' };
const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

describe('DPS sandbox token endpoint', () => {
  let sandbox: DpsSandbox;
  const nowS = (): number => Math.floor(Date.now() / 1000);
  const goodHeader = (): Record<string, unknown> => ({ alg: 'RS512', typ: 'JWT', kid: sandbox.kid });
  const goodClaims = (): Record<string, unknown> => ({ iss: sandbox.apiKey, sub: sandbox.apiKey, aud: sandbox.tokenUrl, jti: randomUUID(), exp: nowS() + 300 });
  const tokenRequest = (assertion: string, extra: Record<string, string> = {}): Promise<Answer> =>
    post(sandbox, sandbox.tokenUrl, form({ grant_type: 'client_credentials', client_assertion_type: assertionType, client_assertion: assertion, ...extra }), formType);

  beforeAll(async () => {
    sandbox = await startDpsSandbox({ keyBits: 2048 });
  });
  afterAll(() => sandbox.close());

  it('issues a token for a valid assertion, with string expires_in and issued_at', async () => {
    const answer = await tokenRequest(craft(goodHeader(), goodClaims(), sandbox.privateKeyPem));
    expect(answer.status).toBe(200);
    const body = JSON.parse(answer.body);
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: '3599' });
    expect(typeof body.access_token).toBe('string');
    expect(body.issued_at).toMatch(/^\d+$/);
  });

  const cases: [string, () => Promise<Answer>, number, string, string][] = [
    ['wrong content type', () => post(sandbox, sandbox.tokenUrl, '{}', { 'content-type': 'application/json' }), 415, 'invalid_request', tokenErrors.contentType],
    ['no grant_type', () => post(sandbox, sandbox.tokenUrl, form({ client_assertion_type: assertionType }), formType), 400, 'invalid_request', tokenErrors.grantTypeMissing],
    ['other grant_type', () => post(sandbox, sandbox.tokenUrl, form({ grant_type: 'password' }), formType), 400, 'unsupported_grant_type', tokenErrors.grantTypeInvalid],
    ['wrong assertion type', () => post(sandbox, sandbox.tokenUrl, form({ grant_type: 'client_credentials', client_assertion_type: 'x' }), formType), 400, 'invalid_request', tokenErrors.clientAssertionType],
    ['no assertion', () => post(sandbox, sandbox.tokenUrl, form({ grant_type: 'client_credentials', client_assertion_type: assertionType }), formType), 400, 'invalid_request', tokenErrors.assertionMissing],
    ['malformed JWT', () => tokenRequest('not-a-jwt'), 400, 'invalid_request', tokenErrors.malformed],
    ['alg RS256', () => tokenRequest(craft({ ...goodHeader(), alg: 'RS256' }, goodClaims(), sandbox.privateKeyPem)), 400, 'invalid_request', tokenErrors.alg],
    ['expired', () => tokenRequest(craft(goodHeader(), { ...goodClaims(), exp: nowS() - 30 }, sandbox.privateKeyPem)), 400, 'invalid_request', tokenErrors.expired],
    ['no kid', () => tokenRequest(craft({ alg: 'RS512', typ: 'JWT' }, goodClaims(), sandbox.privateKeyPem)), 400, 'invalid_request', tokenErrors.kidMissing],
    ['typ missing', () => tokenRequest(craft({ alg: 'RS512', kid: sandbox.kid }, goodClaims(), sandbox.privateKeyPem)), 400, 'invalid_request', tokenErrors.typ],
    ['no exp', () => tokenRequest(craft(goodHeader(), { ...goodClaims(), exp: undefined }, sandbox.privateKeyPem)), 400, 'invalid_request', tokenErrors.expMissing],
    ['exp a string', () => tokenRequest(craft(goodHeader(), { ...goodClaims(), exp: String(nowS() + 60) }, sandbox.privateKeyPem)), 400, 'invalid_request', tokenErrors.expNotInteger],
    ['iss differs from sub', () => tokenRequest(craft(goodHeader(), { ...goodClaims(), sub: 'other' }, sandbox.privateKeyPem)), 400, 'invalid_request', tokenErrors.issSub],
    ['no jti', () => tokenRequest(craft(goodHeader(), { ...goodClaims(), jti: undefined }, sandbox.privateKeyPem)), 400, 'invalid_request', tokenErrors.jtiMissing],
    ['jti a number', () => tokenRequest(craft(goodHeader(), { ...goodClaims(), jti: 42 }, sandbox.privateKeyPem)), 400, 'invalid_request', tokenErrors.jtiNotString],
    ['exp 6 minutes ahead', () => tokenRequest(craft(goodHeader(), { ...goodClaims(), exp: nowS() + 360 }, sandbox.privateKeyPem)), 400, 'invalid_request', tokenErrors.expTooFar],
    ['unknown API key', () => tokenRequest(craft(goodHeader(), { ...goodClaims(), iss: 'nobody', sub: 'nobody' }, sandbox.privateKeyPem)), 401, 'invalid_client', tokenErrors.invalidClient],
    ['kid not in JWKS', () => tokenRequest(craft({ ...goodHeader(), kid: 'other' }, goodClaims(), sandbox.privateKeyPem)), 401, 'invalid_request', tokenErrors.kidNoMatch],
    ['aud not the token URL', () => tokenRequest(craft(goodHeader(), { ...goodClaims(), aud: 'https://int.api.service.nhs.uk/oauth2/token' }, sandbox.privateKeyPem)), 401, 'invalid_request', tokenErrors.aud],
    [
      'signed with another key',
      () => tokenRequest(craft(goodHeader(), goodClaims(), generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString())),
      401,
      'invalid_request',
      tokenErrors.signature,
    ],
  ];
  it.each(cases)('rejects %s', async (_name, send, status, error, description) => {
    const answer = await send();
    expect(answer.status).toBe(status);
    expect(JSON.parse(answer.body)).toMatchObject({ error, error_description: description, message_id: expect.any(String) });
  });

  it('rejects a replayed jti', async () => {
    const claims = goodClaims();
    expect((await tokenRequest(craft(goodHeader(), claims, sandbox.privateKeyPem))).status).toBe(200);
    const replay = await tokenRequest(craft(goodHeader(), claims, sandbox.privateKeyPem));
    expect(replay.status).toBe(400);
    expect(JSON.parse(replay.body).error_description).toBe(tokenErrors.jtiReused);
  });

  it('answers 403 public_key error without a JWKS and 401 unauthorized_client when not subscribed', async () => {
    const noKey = await startDpsSandbox({ keyBits: 2048, jwks: null });
    const unsubscribed = await startDpsSandbox({ keyBits: 2048, subscribed: false });
    try {
      for (const [box, status, error] of [
        [noKey, 403, 'public_key error'],
        [unsubscribed, 401, 'unauthorized_client'],
      ] as const) {
        const claims = { iss: box.apiKey, sub: box.apiKey, aud: box.tokenUrl, jti: randomUUID(), exp: nowS() + 300 };
        const answer = await post(box, box.tokenUrl, form({ grant_type: 'client_credentials', client_assertion_type: assertionType, client_assertion: craft({ alg: 'RS512', typ: 'JWT', kid: box.kid }, claims, box.privateKeyPem) }), formType);
        expect(answer.status).toBe(status);
        expect(JSON.parse(answer.body).error).toBe(error);
      }
    } finally {
      await noKey.close();
      await unsubscribed.close();
    }
  });
});

describe('DPS sandbox $process-message', () => {
  let sandbox: DpsSandbox;
  let token: string;
  const bundle = { resourceType: 'Bundle', id: 'b-1', type: 'collection', entry: [{ resource: { resourceType: 'Communication', identifier: [{ system: 'urn:cad', value: '42' }] } }] };

  beforeAll(async () => {
    sandbox = await startDpsSandbox({ keyBits: 2048 });
    const claims = { iss: sandbox.apiKey, sub: sandbox.apiKey, aud: sandbox.tokenUrl, jti: randomUUID(), exp: Math.floor(Date.now() / 1000) + 300 };
    const answer = await post(sandbox, sandbox.tokenUrl, form({ grant_type: 'client_credentials', client_assertion_type: assertionType, client_assertion: craft({ alg: 'RS512', typ: 'JWT', kid: sandbox.kid }, claims, sandbox.privateKeyPem) }), formType);
    token = JSON.parse(answer.body).access_token;
  });
  afterAll(() => sandbox.close());

  const submit = (headers: Record<string, string>, body = JSON.stringify(bundle), path = '/$process-message', method = 'POST'): Promise<Answer> =>
    post(sandbox, `${sandbox.url}${path}`, body, { 'content-type': 'application/fhir+json', ...headers }, method);

  it('answers a receipt and records the bundle by call', async () => {
    const answer = await submit({ authorization: `Bearer ${token}`, 'x-request-id': 'r-1' });
    expect(answer.status).toBe(200);
    const receipt = JSON.parse(answer.body).message;
    const state = sandbox.accepted();
    expect(state.latestByCall.get('urn:cad|42')).toMatchObject({ receipt, bundleId: 'b-1', requestId: 'r-1' });
    expect(state.acceptancesByBundle.get('b-1')).toBe(1);
  });

  it('answers the documented proxy errors', async () => {
    expect(await submit({})).toMatchObject({ status: 401, body: JSON.stringify({ error: 'invalid/missing access token' }) });
    expect(await submit({ authorization: 'Bearer nope' })).toMatchObject({ status: 401 });
    expect(await submit({ authorization: `Bearer ${token}` }, '', '/$process-message', 'PUT')).toMatchObject({ status: 405, body: JSON.stringify({ error: 'Request method must be POST, not PUT' }) });
    expect(await submit({ authorization: `Bearer ${token}` }, '{}', '/submission')).toMatchObject({ status: 404, body: JSON.stringify({ error: 'Server Not Found' }) });
    expect((await submit({ authorization: `Bearer ${token}` }, 'not json')).status).toBe(400);
  });

  it('injects scripted faults: 429 with Retry-After, then 500', async () => {
    sandbox.setFaults({ script: ['rate-limit', 'server-error'], retryAfterSeconds: 7 });
    const limited = await submit({ authorization: `Bearer ${token}` });
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('7');
    expect((await submit({ authorization: `Bearer ${token}` })).status).toBe(500);
    expect((await submit({ authorization: `Bearer ${token}` })).status).toBe(200);
    expect(sandbox.faultsInjected()).toMatchObject({ 'rate-limit': 1, 'server-error': 1 });
  });

  it('records a lost-after-accept bundle although the connection breaks, and not a dropped one', async () => {
    sandbox.setFaults({ script: ['lost-after-accept', 'drop'] });
    const before = sandbox.accepted().acceptancesByBundle.get('b-1') ?? 0;
    await expect(submit({ authorization: `Bearer ${token}` })).rejects.toThrow();
    expect(sandbox.accepted().acceptancesByBundle.get('b-1')).toBe(before + 1);
    await expect(submit({ authorization: `Bearer ${token}` })).rejects.toThrow();
    expect(sandbox.accepted().acceptancesByBundle.get('b-1')).toBe(before + 1);
  });

  it('refuses revoked tokens with 403', async () => {
    sandbox.revokeTokens();
    expect(await submit({ authorization: `Bearer ${token}` })).toMatchObject({ status: 403, body: JSON.stringify({ error: 'invalid access token' }) });
  });
});
