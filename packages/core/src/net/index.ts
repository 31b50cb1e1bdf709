/**
 * `@cadmap/core/net`: small pieces the HTTP adapters (DPS, MESH, CQI) share, without the mapping engine: bounded
 * body reading, event hooks that cannot break a client, URLs fit for logs and the words for TLS failures.
 */
export { eventEmitter, loggableUrl, readBodyText } from './body.js';
export { describeTlsFailure } from './tls-failure.js';
