// Runs in: Node. One Ed25519 key per installation. Its 32-byte public key is at once the
// Solana address (base58) and the libp2p PeerId (identity multihash of the protobuf key):
// two views of the same bytes, so there is no second identity to keep in sync.
import { ed25519 } from '@noble/curves/ed25519.js';
import { privateKeyFromRaw, publicKeyFromRaw } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey, peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id';
import type { PeerId, PrivateKey } from '@libp2p/interface';
import { address as toAddress, getAddressEncoder, getAddressDecoder, type Address } from '@solana/kit';
import { createKeyPairSignerFromBytes, type KeyPairSigner } from '@solana/kit';

export class IdentityError extends Error {
  override name = 'IdentityError';
}

/** A loaded identity. `keypair` is secret: never log it, never send it anywhere. */
export class Identity {
  readonly publicKey: Uint8Array;
  readonly address: Address;
  readonly peerId: PeerId;
  readonly privateKey: PrivateKey;
  readonly #keypair: Uint8Array;

  private constructor(keypair: Uint8Array) {
    this.#keypair = keypair;
    this.publicKey = keypair.slice(32);
    this.address = getAddressDecoder().decode(this.publicKey);
    this.privateKey = privateKeyFromRaw(keypair);
    this.peerId = peerIdFromPrivateKey(this.privateKey);
  }

  static generate(): Identity {
    const seed = ed25519.utils.randomSecretKey();
    return Identity.fromSeed(seed);
  }

  static fromSeed(seed: Uint8Array): Identity {
    if (seed.length !== 32) throw new IdentityError(`an Ed25519 seed has 32 bytes, got ${seed.length}`);
    const kp = new Uint8Array(64);
    kp.set(seed, 0);
    kp.set(ed25519.getPublicKey(seed), 32);
    return new Identity(kp);
  }

  /** From the 64-byte Solana keypair (seed ‖ public key), checking that the halves match. */
  static fromKeypairBytes(bytes: Uint8Array): Identity {
    if (bytes.length !== 64) throw new IdentityError(`a Solana keypair has 64 bytes, got ${bytes.length}`);
    const derived = ed25519.getPublicKey(bytes.slice(0, 32));
    if (!equalBytes(derived, bytes.slice(32))) {
      throw new IdentityError('keypair is inconsistent: its public half does not belong to its secret half');
    }
    return new Identity(Uint8Array.from(bytes));
  }

  /** Parse the Solana CLI keypair format: a JSON array of 64 numbers 0..255. */
  static fromSolanaKeygenJson(text: string): Identity {
    let arr: unknown;
    try {
      arr = JSON.parse(text);
    } catch {
      throw new IdentityError('not a Solana keypair file: expected a JSON array of 64 bytes');
    }
    if (!Array.isArray(arr) || arr.length !== 64 || !arr.every((n) => Number.isInteger(n) && n >= 0 && n <= 255)) {
      throw new IdentityError('not a Solana keypair file: expected a JSON array of 64 integers from 0 to 255');
    }
    return Identity.fromKeypairBytes(Uint8Array.from(arr as number[]));
  }

  /** The Solana CLI keypair format, as `solana-keygen` writes it (no spaces, no newline). */
  toSolanaKeygenJson(): string {
    return JSON.stringify(Array.from(this.#keypair));
  }

  /** The 64 secret bytes; for key stores and signers only. */
  keypairBytes(): Uint8Array {
    return Uint8Array.from(this.#keypair);
  }

  /** The seed (32 bytes); for deriving the X25519 key for address privacy. */
  seed(): Uint8Array {
    return this.#keypair.slice(0, 32);
  }

  sign(message: Uint8Array): Uint8Array {
    return ed25519.sign(message, this.#keypair.slice(0, 32));
  }

  /** A @solana/kit signer for transactions (WebCrypto key, non-extractable). */
  signer(): Promise<KeyPairSigner> {
    return createKeyPairSignerFromBytes(this.#keypair, false);
  }

  toJSON(): { address: string; peerId: string } {
    return { address: this.address, peerId: this.peerId.toString() };
  }

  /** Never print secrets by accident. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Identity(${this.address})`;
  }
}

export function addressToPeerId(addr: string): PeerId {
  const bytes = getAddressEncoder().encode(toAddress(addr));
  return peerIdFromPublicKey(publicKeyFromRaw(Uint8Array.from(bytes)));
}

export function peerIdToAddress(peer: PeerId | string): Address {
  const id = typeof peer === 'string' ? peerIdFromString(peer) : peer;
  if (id.type !== 'Ed25519' || !id.publicKey) {
    throw new IdentityError(`PeerId ${id.toString()} is not an Ed25519 key and has no Solana address`);
  }
  return getAddressDecoder().decode(id.publicKey.raw);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}
