/** The documented DPS environments (`dps-api.md` §3). */
export type DpsEnvironmentName = 'sandbox' | 'integration' | 'production';

/** Where to send bundles and where to get tokens. `tokenUrl: null` means open access (no Authorization). */
export interface DpsEndpoint {
  readonly baseUrl: string;
  readonly tokenUrl: string | null;
}

/** Base and token URLs of the documented environments. The NHS sandbox is open access and stateless. */
export const dpsEnvironments: Readonly<Record<DpsEnvironmentName, DpsEndpoint>> = {
  sandbox: { baseUrl: 'https://sandbox.api.service.nhs.uk/ambulance-data-submission', tokenUrl: null },
  integration: { baseUrl: 'https://int.api.service.nhs.uk/ambulance-data-submission', tokenUrl: 'https://int.api.service.nhs.uk/oauth2/token' },
  production: { baseUrl: 'https://api.service.nhs.uk/ambulance-data-submission', tokenUrl: 'https://api.service.nhs.uk/oauth2/token' },
};

export const isDpsEnvironmentName = (value: string): value is DpsEnvironmentName => Object.hasOwn(dpsEnvironments, value);

/** A preset name or an explicit endpoint (e.g. the local sandbox). */
export type DpsEnvironment = DpsEnvironmentName | DpsEndpoint;

export function resolveEndpoint(environment: DpsEnvironment): DpsEndpoint {
  return typeof environment === 'string' ? dpsEnvironments[environment] : environment;
}

/** `{base}/$process-message` with a literal `$` (the proxy compares the path suffix as a string). */
export function processMessageUrl(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/$process-message`;
}
