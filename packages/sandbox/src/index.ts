export { createTestCa } from './tls/certificates.js';
export type { PemPair, TestCa } from './tls/certificates.js';
