import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

type NodeKey = webcrypto.CryptoKey;
/** @peculiar/x509 is typed against the DOM's WebCrypto types; Node's are the same objects at run time. */
const asWebKey = (key: NodeKey): never => key as never;

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A PEM certificate with its PEM (PKCS#8) private key. */
export interface PemPair {
  readonly cert: string;
  readonly key: string;
}

/** A test certificate authority that can issue server and client certificates. */
export interface TestCa extends PemPair {
  issueServer(options?: { hosts?: readonly string[]; commonName?: string; validDays?: number }): Promise<PemPair>;
  issueClient(commonName: string, options?: { validDays?: number }): Promise<PemPair>;
}

let serial = Date.now();
const nextSerial = (): string => (serial++).toString(16).padStart(16, '0');

async function exportKey(key: NodeKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/**
 * Creates a fresh CA (ECDSA P-256, SHA-256) in memory. Certificates are generated at test or sandbox start:
 * no key material is ever committed.
 */
export async function createTestCa(commonName = 'cadmap test CA', validDays = 30): Promise<TestCa> {
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const now = new Date();
  const notBefore = new Date(now.getTime() - 60_000);
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name: `CN=${commonName}`,
    notBefore,
    notAfter: new Date(now.getTime() + validDays * 86_400_000),
    keys: { publicKey: asWebKey(keys.publicKey), privateKey: asWebKey(keys.privateKey) },
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(asWebKey(keys.publicKey)),
    ],
  });
  const caKey = await exportKey(keys.privateKey);

  const issue = async (subject: string, extensions: x509.Extension[], days: number): Promise<PemPair> => {
    const leafKeys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: nextSerial(),
      subject,
      issuer: caCert.subject,
      notBefore,
      notAfter: new Date(now.getTime() + days * 86_400_000),
      signingKey: asWebKey(keys.privateKey),
      publicKey: asWebKey(leafKeys.publicKey),
      signingAlgorithm: algorithm,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
        ...extensions,
      ],
    });
    return { cert: cert.toString('pem'), key: await exportKey(leafKeys.privateKey) };
  };

  return {
    cert: caCert.toString('pem'),
    key: caKey,
    issueServer: async (options = {}) => {
      const hosts = options.hosts ?? ['localhost', '127.0.0.1', '::1'];
      const names = hosts.map((host) => (/^[\d.]+$|:/.test(host) ? { type: 'ip' as const, value: host } : { type: 'dns' as const, value: host }));
      return issue(
        `CN=${options.commonName ?? hosts[0] ?? 'localhost'}`,
        [
          new x509.SubjectAlternativeNameExtension(names, false),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
        ],
        options.validDays ?? 30,
      );
    },
    issueClient: async (commonName, options = {}) =>
      issue(
        `CN=${commonName}`,
        [
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
        ],
        options.validDays ?? 30,
      ),
  };
}
