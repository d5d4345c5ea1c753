// Runs in: Node. A DTLS certificate of our own for the ICE agents of one connect session, so that
// an agent made AFTER the connect info was sealed (birthday probing: the agent must bind the port
// the probes found) presents the fingerprint the peer already holds. node-datachannel takes it as
// PEM (`certificatePemFile` / `keyPemFile` accept the PEM text itself, as @libp2p/webrtc passes it).
//
// DTLS in WebRTC checks the peer's certificate by its SHA-256 fingerprint only (self-signed, no
// chain), so a minimal X.509 v3 certificate is enough: an ECDSA P-256 key from node:crypto, signed
// by itself. Written here (DER by hand, ~40 lines) rather than with @peculiar/x509: that library
// is not a dependency of ours (only of @libp2p/webrtc) and needs a global `reflect-metadata`
// polyfill loaded into the process first.
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';

export interface DtlsCertificate {
  /** PEM of the self-signed certificate. */
  certPem: string;
  /** PEM (PKCS#8) of its private key. */
  keyPem: string;
  /** SHA-256 over the certificate's DER: what goes into `a=fingerprint:sha-256`. */
  fingerprint: Uint8Array;
}

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, ...parts: Buffer[]): Buffer => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
};
const seq = (...parts: Buffer[]): Buffer => tlv(0x30, ...parts);
/** OID 1.2.840.10045.4.3.2 (ecdsa-with-SHA256), pre-encoded. */
const ECDSA_SHA256 = seq(Buffer.from('06082a8648ce3d040302', 'hex'));
/** OID 2.5.4.3 (commonName). */
const CN = Buffer.from('0603550403', 'hex');

function utcTime(d: Date): Buffer {
  const s = d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z'; // YYMMDDHHMMSSZ
  return tlv(0x17, Buffer.from(s, 'ascii'));
}

/** A fresh self-signed ECDSA P-256 certificate, valid from a day ago for `days`. */
export function createDtlsCertificate(days = 30): DtlsCertificate {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const serial = randomBytes(8);
  // a positive INTEGER in minimal DER: first byte 0x01..0x7f (a leading 0x00 before a byte < 0x80 is
  // illegal padding, refused by OpenSSL: one certificate in 256 failed to load)
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const name = seq(tlv(0x31, seq(CN, tlv(0x0c, Buffer.from('axon', 'ascii')))));
  const now = Date.now();
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))), // version v3
    tlv(0x02, serial),
    ECDSA_SHA256,
    name,
    seq(utcTime(new Date(now - 86_400_000)), utcTime(new Date(now + days * 86_400_000))),
    name,
    spki,
  );
  const signature = sign('sha256', tbs, privateKey); // DER ECDSA-Sig-Value
  const der = seq(tbs, ECDSA_SHA256, tlv(0x03, Buffer.from([0]), signature));
  const b64 = der
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n');
  return {
    certPem: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    fingerprint: new Uint8Array(createHash('sha256').update(der).digest()),
  };
}
