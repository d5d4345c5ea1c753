import { describe, it, expect } from 'vitest';
import { inspect } from 'node:util';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { privateKeyFromRaw } from '@libp2p/crypto/keys';
import { getAddressFromPublicKey, createKeyPairSignerFromBytes } from '@solana/kit';
import { Identity, addressToPeerId, peerIdToAddress, IdentityError } from '../../src-main/core/identity/identity';

// A keypair in the exact format `solana-keygen new -o FILE` writes (seed ‖ public key).
const SEED = Uint8Array.from({ length: 32 }, (_, i) => i + 1);

describe('identity: one Ed25519 key, two views', () => {
  it('derives the Solana address and the libp2p PeerId from the same 32 public bytes', async () => {
    const id = Identity.fromSeed(SEED);
    // Solana's own derivation (kit, WebCrypto) gives the same address.
    const signer = await createKeyPairSignerFromBytes(id.keypairBytes());
    expect(signer.address).toBe(id.address);
    expect(await getAddressFromPublicKey(signer.keyPair.publicKey)).toBe(id.address);
    // libp2p's own derivation gives the same PeerId.
    expect(peerIdFromPrivateKey(privateKeyFromRaw(id.keypairBytes())).toString()).toBe(id.peerId.toString());
    // Each converts into the other.
    expect(peerIdToAddress(id.peerId)).toBe(id.address);
    expect(addressToPeerId(id.address).toString()).toBe(id.peerId.toString());
    expect(peerIdToAddress(id.peerId.toString())).toBe(id.address);
  });

  it('signs what both Solana and libp2p verify', async () => {
    const id = Identity.generate();
    const msg = new TextEncoder().encode('axon');
    const sig = id.sign(msg);
    expect(await id.privateKey.publicKey.verify(msg, sig)).toBe(true);
  });

  it('imports and exports the solana-keygen format byte for byte', () => {
    const original = Identity.generate().toSolanaKeygenJson();
    const back = Identity.fromSolanaKeygenJson(original).toSolanaKeygenJson();
    expect(back).toBe(original);
    expect(JSON.parse(back)).toHaveLength(64);
  });

  it('refuses files that are not a Solana keypair, with a clear reason', () => {
    expect(() => Identity.fromSolanaKeygenJson('not json')).toThrow(/JSON array of 64 bytes/);
    expect(() => Identity.fromSolanaKeygenJson('[1,2,3]')).toThrow(IdentityError);
    expect(() => Identity.fromSolanaKeygenJson(JSON.stringify(Array(64).fill(256)))).toThrow(/0 to 255/);
    const kp = Array.from(Identity.generate().keypairBytes());
    kp[40] = (kp[40]! + 1) % 256; // public half no longer matches the secret half
    expect(() => Identity.fromSolanaKeygenJson(JSON.stringify(kp))).toThrow(/inconsistent/);
  });

  it('never prints its secret', () => {
    const id = Identity.generate();
    const shown = `${JSON.stringify(id)} ${inspect(id)}`;
    expect(shown).toContain(id.address);
    expect(shown).not.toContain(id.toSolanaKeygenJson().slice(1, 20));
  });
});
