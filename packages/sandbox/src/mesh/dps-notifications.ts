import type { MeshDelivery } from './server.js';

/** Payload formats the DPS sandbox can send; `unknown` is a payload no parser should recognise. */
export type DpsNotificationFormat = 'json' | 'csv' | 'operation-outcome' | 'unknown';

/** Makes the DPS sandbox send error notifications over MESH for a share of the bundles it accepts. */
export interface DpsMeshNotifications {
  /** Where to deliver (a MESH sandbox). */
  readonly mesh: { deliver(message: MeshDelivery): string };
  /** The DPS mailbox (sender) and the trust's mailbox (recipient). */
  readonly from: string;
  readonly to: string;
  readonly workflowId: string;
  /** Share of accepted bundles that get a notification, 0..1. */
  readonly share: number;
  readonly format: DpsNotificationFormat;
  /** Uniform in [0, 1) (default Math.random); use a seeded one in tests. */
  readonly random?: () => number;
}

/** What the sandbox knows about an accepted bundle. */
export interface NotifiedSubmission {
  readonly receipt: string;
  readonly callKey: string;
  readonly bundleId?: string;
  readonly bundle: unknown;
}

/** The OperationOutcome extension URLs the sandbox uses (cadmap's defaults). */
export const sandboxOperationOutcomeExtensions = {
  receipt: 'https://cadmap.dev/fhir/StructureDefinition/dps-receipt',
  bundleId: 'https://cadmap.dev/fhir/StructureDefinition/dps-bundle-id',
  callId: 'https://cadmap.dev/fhir/StructureDefinition/dps-call-id',
} as const;

const csvField = (value: string): string => (/[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

/** The error the sandbox reports: the first Patient entry (else entry 0) failed a business rule. */
function faultOf(bundle: unknown): { location: string; message: string } {
  const entries = Array.isArray((bundle as { entry?: unknown }).entry) ? ((bundle as { entry: { resource?: { resourceType?: unknown } }[] }).entry) : [];
  const index = Math.max(0, entries.findIndex((entry) => entry.resource?.resourceType === 'Patient'));
  const resourceType = entries[index]?.resource?.resourceType;
  const type = typeof resourceType === 'string' ? resourceType : 'Resource';
  return { location: `Bundle.entry[${index}].resource`, message: `${type} failed DPS business validation (sandbox)` };
}

/** Builds the payload of one notification in `format`. */
export function dpsNotificationPayload(format: DpsNotificationFormat, submission: NotifiedSubmission): { body: string; contentType: string; fileName: string } {
  const { location, message } = faultOf(submission.bundle);
  const bundleId = submission.bundleId ?? '';
  switch (format) {
    case 'json':
      return { contentType: 'application/json', fileName: `dps-errors-${submission.receipt}.json`, body: JSON.stringify({ errors: [{ receiptId: submission.receipt, bundleId, callId: submission.callKey, code: 'BUSINESS_RULE', severity: 'error', message, location }] }) };
    case 'csv':
      return {
        contentType: 'text/csv',
        fileName: `dps-errors-${submission.receipt}.csv`,
        body: `receiptId,bundleId,callId,code,severity,message,location\r\n${[submission.receipt, bundleId, submission.callKey, 'BUSINESS_RULE', 'error', message, location].map(csvField).join(',')}\r\n`,
      };
    case 'operation-outcome':
      return {
        contentType: 'application/fhir+json',
        fileName: `dps-errors-${submission.receipt}.json`,
        body: JSON.stringify({
          resourceType: 'OperationOutcome',
          extension: [
            { url: sandboxOperationOutcomeExtensions.receipt, valueString: submission.receipt },
            ...(bundleId !== '' ? [{ url: sandboxOperationOutcomeExtensions.bundleId, valueString: bundleId }] : []),
            { url: sandboxOperationOutcomeExtensions.callId, valueString: submission.callKey },
          ],
          issue: [{ severity: 'error', code: 'business-rule', details: { coding: [{ code: 'BUSINESS_RULE' }], text: message }, expression: [location] }],
        }),
      };
    case 'unknown':
      return { contentType: 'application/octet-stream', fileName: `dps-errors-${submission.receipt}.bin`, body: `DPSERR|v9|${submission.receipt}|${message}` };
  }
}

/** Sends a notification for `submission` when the draw falls within the share; returns the MESH message id. */
export function notifyOverMesh(options: DpsMeshNotifications | undefined, submission: NotifiedSubmission): string | undefined {
  if (!options || (options.random ?? Math.random)() >= options.share) {
    return undefined;
  }
  const payload = dpsNotificationPayload(options.format, submission);
  return options.mesh.deliver({ from: options.from, to: options.to, workflowId: options.workflowId, body: payload.body, contentType: payload.contentType, fileName: payload.fileName, localId: submission.receipt });
}
