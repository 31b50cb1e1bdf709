/**
 * What Node/OpenSSL TLS error codes mean, in words, for the adapters' TLS diagnostics: e.g. "the server's
 * certificate has expired". `peer` names the other side ("server", "service"); with `mutual` TLS an unexplained
 * handshake failure may be the peer refusing our client certificate, and the words say so.
 */
export function describeTlsFailure(codes: string | readonly string[], options: { readonly peer?: string; readonly mutual?: boolean } = {}): string {
  const all = typeof codes === 'string' ? codes : codes.join(' ');
  const certificate = `the ${options.peer ?? 'server'}'s certificate`;
  if (/ALTNAME|HOSTNAME/.test(all)) {
    return `${certificate} does not name the host in the URL`;
  }
  if (/EXPIRED/.test(all)) {
    return `${certificate} has expired`;
  }
  if (/NOT_YET_VALID/.test(all)) {
    return `${certificate} is not valid yet`;
  }
  if (/UNABLE_TO_(GET|VERIFY)|SELF_SIGNED|DEPTH_ZERO|CERT_SIGNATURE|CERT_UNTRUSTED|CERT_REJECTED/.test(all)) {
    return `${certificate} is not issued by a trusted CA`;
  }
  return options.mutual === true ? `the TLS handshake failed (the ${options.peer ?? 'server'} may have refused the client certificate)` : 'the TLS handshake failed';
}
