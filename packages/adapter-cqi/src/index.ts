/**
 * @cadmap/adapter-cqi: sends canonical CQI cases (`cqi-case/1.0.0`, from @cadmap/core) to the NHS Pathways CQI (IDT)
 * API over mutual TLS, with JSON or Pathways-case XML encoders and a durable SQLite outbox.
 *
 * ```ts
 * const { client } = CqiClient.create({ environment: 'uat', baseUrls: { uat }, tls: { cert, key, ca } });
 * const sender = new CqiSender({ client: client!, queue: new SqliteCqiQueue('cqi-queue.sqlite'), encoder: cqiEncoder('json') });
 * const { outcome } = await sender.submit(cqiCase);   // delivered, queued (service closed), rejected or invalid
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
