import { describe, expect, it } from 'vitest';
import { describeTlsFailure } from './tls-failure.js';

describe('describeTlsFailure', () => {
  it('names the problem behind Node and OpenSSL codes', () => {
    expect(describeTlsFailure('ERR_TLS_CERT_ALTNAME_INVALID')).toBe("the server's certificate does not name the host in the URL");
    expect(describeTlsFailure(['ECONNRESET', 'CERT_HAS_EXPIRED'], { peer: 'service' })).toBe("the service's certificate has expired");
    expect(describeTlsFailure('CERT_NOT_YET_VALID')).toBe("the server's certificate is not valid yet");
    for (const code of ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY']) {
      expect(describeTlsFailure(code)).toBe("the server's certificate is not issued by a trusted CA");
    }
    expect(describeTlsFailure('ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE')).toBe('the TLS handshake failed');
    expect(describeTlsFailure('ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', { mutual: true })).toBe('the TLS handshake failed (the server may have refused the client certificate)');
  });
});
