import { describe, expect, it } from 'vitest';
import { x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { getAddressEncoder } from '@solana/kit';
import { Identity } from '../../src-main/core/identity/identity';
import {
  SEAL_OVERHEAD,
  SealError,
  open,
  openJson,
  seal,
  sealJson,
  x25519PublicOf,
  x25519SecretOf,
} from '../../src-main/core/ledger/crypto';

const alice = Identity.fromSeed(new Uint8Array(32).fill(0xa1));
const bob = Identity.fromSeed(new Uint8Array(32).fill(0xb0));
const carol = Identity.fromSeed(new Uint8Array(32).fill(0xc0));
const nonce = new Uint8Array(16).fill(7);
const plaintext = new TextEncoder().encode('{"addrs":["/ip4/192.0.2.10/udp/4001"]}');
const ephemeral = new Uint8Array(32).fill(0x42);

// Fixed keys → fixed output. A change here breaks every deployed peer: bump SEAL_VERSION instead.
const VECTOR = {
  alice: 'DgmxzQX61DxkAMkAubrgHVJb637fYYTdh7ouVqZGnJrp',
  bob: '8ZfKtzK7ZX8rtGhAqUDS4MVPT143o1FwKjw2aBwta8bE',
  sealed:
    '01132c442be010fbd57e72603328aa76e71fccc1503aae219327d14d9c9993f472f7757c3137d46371504ee863751b6e5e79f4a1fe' +
    '4165bf1e8b77a71e755ae8175413aa71f6cc390af981acf12db9d65707c9afbf634f',
};

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('sealed boxes (X25519 + HKDF-SHA256 + XChaCha20-Poly1305)', () => {
  it('matches the checked-in test vector', () => {
    expect(alice.address).toBe(VECTOR.alice);
    expect(bob.address).toBe(VECTOR.bob);
    const sealed = seal(plaintext, { sender: alice, recipient: bob.address, type: 'ServiceRequest', nonce }, ephemeral);
    expect(hex(sealed)).toBe(VECTOR.sealed);
    expect(sealed.length).toBe(plaintext.length + SEAL_OVERHEAD);
    const opened = open(Buffer.from(VECTOR.sealed, 'hex'), {
      recipient: bob,
      sender: alice.address,
      type: 'ServiceRequest',
      nonce,
    });
    expect(new TextDecoder().decode(opened)).toBe(new TextDecoder().decode(plaintext));
  });

  it('the vector follows the documented construction step by step', () => {
    const label = new TextEncoder().encode('axon/seal/v1');
    const bobX = x25519PublicOf(bob.address);
    // The Ed25519→X25519 maps agree: public of the converted secret = converted public.
    expect(hex(x25519.getPublicKey(x25519SecretOf(bob)))).toBe(hex(bobX));
    const ephPub = x25519.getPublicKey(ephemeral);
    const shared = x25519.getSharedSecret(ephemeral, bobX);
    const okm = hkdf(sha256, shared, Uint8Array.from([...ephPub, ...bobX]), label, 56);
    const enc = getAddressEncoder();
    const ad = Uint8Array.from([...label, ...enc.encode(alice.address), ...enc.encode(bob.address), 4, ...nonce]);
    const ct = xchacha20poly1305(okm.subarray(0, 32), okm.subarray(32), ad).encrypt(plaintext);
    expect(hex(Uint8Array.from([1, ...ephPub, ...ct]))).toBe(VECTOR.sealed);
  });

  it('uses a fresh ephemeral key each time', () => {
    const ctx = { sender: alice, recipient: bob.address, type: 'ServiceRequest', nonce } as const;
    expect(hex(seal(plaintext, ctx))).not.toBe(hex(seal(plaintext, ctx)));
  });

  const ctx = { recipient: bob, sender: alice.address, type: 'ServiceRequest', nonce } as const;
  const sealed = (): Uint8Array =>
    seal(plaintext, { sender: alice, recipient: bob.address, type: 'ServiceRequest', nonce });

  const fails = (box: Uint8Array, c: Parameters<typeof open>[1], code: string): void => {
    let err: unknown;
    try {
      open(box, c);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SealError);
    expect((err as SealError).code).toBe(code);
  };

  it('tampering with any byte fails', () => {
    const box = sealed();
    for (const i of [1, 20, 33, 40, box.length - 1]) {
      const t = Uint8Array.from(box);
      t[i] = t[i]! ^ 0x01;
      fails(t, ctx, 'auth-failed');
    }
    fails(Uint8Array.from([9, ...box.subarray(1)]), ctx, 'bad-version');
    fails(box.subarray(0, 20), ctx, 'malformed');
  });

  it('a wrong recipient cannot open it', () => {
    fails(sealed(), { ...ctx, recipient: carol }, 'auth-failed');
  });

  it('a replay to another peer, by another sender, as another type or with another nonce fails', () => {
    // Carol (a curious relay) re-posts Alice's box to Bob under her own signature.
    fails(sealed(), { ...ctx, sender: carol.address }, 'auth-failed');
    // Bob forwards Alice's box to Carol: sealed to Bob, so it opens for nobody else.
    const toCarol = seal(plaintext, { sender: alice, recipient: carol.address, type: 'ServiceRequest', nonce });
    fails(toCarol, ctx, 'auth-failed');
    fails(sealed(), { ...ctx, type: 'ServiceAccept' }, 'auth-failed');
    fails(sealed(), { ...ctx, nonce: new Uint8Array(16).fill(8) }, 'auth-failed');
  });

  it('JSON helpers round-trip', () => {
    const info = { addrs: ['/ip4/192.0.2.1/tcp/1'], ice: { ufrag: 'x' } };
    const box = sealJson(info, { sender: alice, recipient: bob.address, type: 'PunchSync', nonce });
    expect(openJson(box, { recipient: bob, sender: alice.address, type: 'PunchSync', nonce })).toEqual(info);
  });
});
