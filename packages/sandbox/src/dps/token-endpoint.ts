import { createPublicKey, randomUUID, type JsonWebKey } from 'node:crypto';
import { compactVerify, decodeJwt, decodeProtectedHeader, type JWTPayload, type ProtectedHeaderParameters } from 'jose';

/** A JSON Web Key Set as registered with an application. */
export interface JsonWebKeySet {
  readonly keys: readonly (JsonWebKey & { readonly kid?: string; readonly alg?: string; readonly use?: string })[];
}

/** An application registered with the sandbox's token endpoint. */
export interface SandboxApplication {
  readonly apiKey: string;
  /** `null`: no public key registered (the endpoint answers 403 `public_key error`). */
  readonly jwks: JsonWebKeySet | null;
  /** `false`: not subscribed to an application-restricted product (401 `unauthorized_client`). */
  readonly subscribed: boolean;
}

/** A token endpoint answer: status and the `{error, error_description, message_id}` body (`dps-api.md` §5.6). */
export interface TokenAnswer {
  readonly status: number;
  readonly body: Record<string, string>;
}

/** The exact descriptions the platform's token endpoint uses (`dps-api.md` §5.6). */
export const tokenErrors = {
  clientAssertionType: "Missing or invalid client_assertion_type - must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'",
  grantTypeMissing: 'grant_type is missing',
  grantTypeInvalid: 'grant_type is invalid',
  assertionMissing: 'Missing client_assertion',
  malformed: 'Malformed JWT in client_assertion',
  alg: "Invalid 'alg' header in client_assertion JWT - unsupported JWT algorithm - must be 'RS512'",
  kidMissing: "Missing 'kid' header in client_assertion JWT",
  typ: "Invalid 'typ' header in client_assertion JWT - must be 'JWT'",
  expMissing: "Missing 'exp' claim in client_assertion JWT",
  expNotInteger: "Invalid 'exp' claim in client_assertion JWT - must be an integer",
  expired: "Invalid 'exp' claim in client_assertion JWT - JWT has expired",
  expTooFar: "Invalid 'exp' claim in client_assertion JWT - more than 5 minutes in future",
  issSub: "Missing or non-matching 'iss'/'sub' claims in client_assertion JWT",
  jtiMissing: "Missing 'jti' claim in client_assertion JWT",
  jtiNotString: "Invalid 'jti' claim in client_assertion JWT - must be a unique string value such as a GUID",
  jtiReused: "Non-unique 'jti' claim in client_assertion JWT",
  aud: "Missing or invalid 'aud' claim in client_assertion JWT",
  kidNoMatch: "Invalid 'kid' header in client_assertion JWT - no matching public key",
  unauthorizedClient: 'you have tried to request authorization but your application is not configured to use this authorization grant type',
  publicKey: 'You need to register a public key to use this authentication method - please contact support to configure',
  contentType: 'Content-Type header must be application/x-www-form-urlencoded',
  invalidClient: 'client_id or client_secret is invalid',
  /** Not documented: the sandbox's wording for a signature that does not verify. */
  signature: 'Unable to verify JWT signature in client_assertion JWT',
} as const;

const fail = (status: number, error: string, description: string): TokenAnswer => ({
  status,
  body: { error, error_description: description, message_id: randomUUID() },
});

export interface TokenEndpointOptions {
  readonly tokenUrl: string;
  readonly applications: readonly SandboxApplication[];
  readonly now: () => number;
  readonly tokenLifetimeSeconds: number;
  readonly issue: (apiKey: string, expiresAt: number) => string;
}

/**
 * Validates a client-credentials token request the way the NHS API platform does (`dps-api.md` §5.2–5.6):
 * the claim checks in the documented order, then the API key, the JWKS lookup, the signature and `aud`.
 */
export class TokenEndpoint {
  private readonly seenJti = new Set<string>();
  constructor(private readonly options: TokenEndpointOptions) {}

  async handle(contentType: string | undefined, rawBody: string): Promise<TokenAnswer> {
    if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(contentType ?? '')) {
      return fail(415, 'invalid_request', tokenErrors.contentType);
    }
    const form = new URLSearchParams(rawBody);
    const grantType = form.get('grant_type');
    if (grantType === null || grantType === '') {
      return fail(400, 'invalid_request', tokenErrors.grantTypeMissing);
    }
    if (grantType !== 'client_credentials') {
      return fail(400, 'unsupported_grant_type', tokenErrors.grantTypeInvalid);
    }
    if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
      return fail(400, 'invalid_request', tokenErrors.clientAssertionType);
    }
    const assertion = form.get('client_assertion');
    if (assertion === null || assertion === '') {
      return fail(400, 'invalid_request', tokenErrors.assertionMissing);
    }
    let header: ProtectedHeaderParameters;
    let claims: JWTPayload;
    try {
      header = decodeProtectedHeader(assertion);
      claims = decodeJwt(assertion);
    } catch {
      return fail(400, 'invalid_request', tokenErrors.malformed);
    }
    const nowSeconds = this.options.now() / 1000;
    const exp: unknown = claims.exp;
    if (header.alg !== 'RS512') {
      return fail(400, 'invalid_request', tokenErrors.alg);
    }
    if (typeof exp === 'number' && exp < nowSeconds) {
      return fail(400, 'invalid_request', tokenErrors.expired);
    }
    if (typeof header.kid !== 'string' || header.kid === '') {
      return fail(400, 'invalid_request', tokenErrors.kidMissing);
    }
    if (typeof header.typ !== 'string' || header.typ.toLowerCase() !== 'jwt') {
      return fail(400, 'invalid_request', tokenErrors.typ);
    }
    if (exp === undefined) {
      return fail(400, 'invalid_request', tokenErrors.expMissing);
    }
    if (typeof exp !== 'number' || !Number.isInteger(exp)) {
      return fail(400, 'invalid_request', tokenErrors.expNotInteger);
    }
    if (typeof claims.iss !== 'string' || claims.iss === '' || claims.iss !== claims.sub) {
      return fail(400, 'invalid_request', tokenErrors.issSub);
    }
    const jti: unknown = claims.jti;
    if (jti === undefined) {
      return fail(400, 'invalid_request', tokenErrors.jtiMissing);
    }
    if (typeof jti !== 'string') {
      return fail(400, 'invalid_request', tokenErrors.jtiNotString);
    }
    if (this.seenJti.has(jti)) {
      return fail(400, 'invalid_request', tokenErrors.jtiReused);
    }
    this.seenJti.add(jti);
    if (exp > nowSeconds + 310) {
      return fail(400, 'invalid_request', tokenErrors.expTooFar);
    }
    const application = this.options.applications.find((app) => app.apiKey === claims.iss);
    if (!application) {
      return fail(401, 'invalid_client', tokenErrors.invalidClient);
    }
    if (!application.subscribed) {
      return fail(401, 'unauthorized_client', tokenErrors.unauthorizedClient);
    }
    if (application.jwks === null) {
      return fail(403, 'public_key error', tokenErrors.publicKey);
    }
    const jwk = application.jwks.keys.find((key) => key.kid === header.kid);
    if (!jwk) {
      return fail(401, 'invalid_request', tokenErrors.kidNoMatch);
    }
    try {
      await compactVerify(assertion, createPublicKey({ key: jwk, format: 'jwk' }), { algorithms: ['RS512'] });
    } catch {
      return fail(401, 'invalid_request', tokenErrors.signature);
    }
    if (claims.aud !== this.options.tokenUrl && !(Array.isArray(claims.aud) && claims.aud.length === 1 && claims.aud[0] === this.options.tokenUrl)) {
      return fail(401, 'invalid_request', tokenErrors.aud);
    }
    const issuedAt = this.options.now();
    const lifetime = this.options.tokenLifetimeSeconds;
    return {
      status: 200,
      body: {
        access_token: this.options.issue(application.apiKey, issuedAt + lifetime * 1000),
        expires_in: String(lifetime),
        token_type: 'Bearer',
        issued_at: String(issuedAt),
      },
    };
  }
}
