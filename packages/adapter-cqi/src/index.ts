/**
 * @cadmap/adapter-cqi: sends canonical CQI cases (`cqi-case/1.0.0`, from @cadmap/core) to the NHS Pathways CQI (IDT)
 * API over mutual TLS, with JSON or Pathways-case XML encoders. Cases wait in the ledger's outbox
 * (@cadmap/pipeline) while the service is closed; `client.asTarget()` is what the pipeline sends through.
 *
 * ```ts
 * const { client } = CqiClient.create({ environment: 'uat', baseUrls: { uat }, tls: { cert, key, ca } });
 * const outcome = await client!.asTarget().submit({ key: caseId, payload: { body, mediaType } }); // never throws
 * ```
 */
export { cqiEncoder, cqiEncoderForMediaType } from './wire/encoders.js';
export type { CqiEncoder, CqiWireFormat, DecodeResult, EncodeResult } from './wire/encoders.js';
export { decodePathwaysXml, encodePathwaysXml, pathwaysCaseNamespace } from './wire/pathways-xml.js';
export { CqiClient, cqiBaseUrl, parseExceptionCodes, parseExceptions } from './transport/client.js';
export type { CqiClientOptions, CqiCredentials, CqiEnvironment, CqiException, CqiTlsOptions, PostOutcome } from './transport/client.js';
export { SqliteCqiQueue } from './queue/queue.js';
export type { CqiQueue, QueuedCase, QueuedState } from './queue/queue.js';
export { CqiSender } from './sender.js';
export type { CqiEvent, CqiEventListener } from './events.js';
export type { CqiCaseOutcome, CqiSenderOptions, FlushReport } from './sender.js';
