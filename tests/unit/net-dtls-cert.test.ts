// The DTLS certificate of a connect session (net/dtls-cert.ts) must be valid DER every time: one
// that OpenSSL refuses makes node-datachannel throw "Unable to import PEM certificate" when the
// ICE agent is made, and the punch (and with it the buyer's node) fails. Seen in `npm run bench --
// mesh`: about one certificate in 256 had a serial number with a leading zero byte (non-minimal
// INTEGER).
import { X509Certificate, createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createDtlsCertificate } from '../../src-main/core/net/dtls-cert';

describe('DTLS certificate', () => {
  it('is a certificate OpenSSL reads, every time, with the fingerprint it announces', () => {
    const refused: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const c = createDtlsCertificate();
      try {
        const x = new X509Certificate(c.certPem);
        expect(createHash('sha256').update(x.raw).digest()).toEqual(Buffer.from(c.fingerprint));
      } catch (e) {
        refused.push((e as Error).message);
      }
    }
    expect(refused).toEqual([]);
  });
});
