// Runs in: Node. Address privacy: connect info (candidate addresses, ICE data) sealed to one peer.
//
//   recipient X25519 public  = toMontgomery(recipient Ed25519 public key)      (RFC 7748 map)
//   ephemeral X25519 keypair, fresh per message
//   shared   = X25519(ephemeral secret, recipient X25519 public)
//   key‖iv   = HKDF-SHA256(ikm = shared, salt = ephemeralPub ‖ recipientX25519Pub,
//                          info = "axon/seal/v1", 56 bytes)  → 32-byte key, 24-byte XChaCha nonce
//   ad       = "axon/seal/v1" ‖ sender(32) ‖ recipient(32) ‖ typeCode(1) ‖ message nonce(16)
//   sealed   = 0x01 ‖ ephemeralPub(32) ‖ XChaCha20-Poly1305(key, iv, plaintext, ad)   (+16 tag)
//
// The key is unique per message (fresh ephemeral key), so deriving the AEAD nonce from HKDF is
// safe and saves 24 bytes of memo. The sender is authenticated by the transaction signature; the
// associated data binds the box to that sender, to its recipient, to the message type and to the
// message nonce, so a box copied into another message, to another peer or by another signer
// fails to open. Primitives: @noble/curves, @noble/hashes, @noble/ciphers (audited).
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { getAddressEncoder, type Address } from '@solana/kit';
import type { Identity } from '../identity/identity';
import type { MessageType } from './types';
import { NONCE_BYTES, TYPE_CODES } from './messages';

export const SEAL_VERSION = 1;
const LABEL = new TextEncoder().encode('axon/seal/v1');
/** Bytes a sealed box adds to its plaintext: version + ephemeral key + Poly1305 tag. */
export const SEAL_OVERHEAD = 1 + 32 + 16;

export type SealErrorCode = 'malformed' | 'bad-version' | 'bad-key' | 'auth-failed';

export class SealError extends Error {
  override name = 'SealError';
  constructor(
    readonly code: SealErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface SealContext {
  sender: Identity | Address;
  recipient: Address;
  type: MessageType;
  /** The nonce of the message that carries the box (16 bytes). */
  nonce: Uint8Array;
}
export interface OpenContext {
  recipient: Identity;
  sender: Address;
  type: MessageType;
  nonce: Uint8Array;
}

const addrEnc = getAddressEncoder();
const addrBytes = (a: Address): Uint8Array => Uint8Array.from(addrEnc.encode(a));
const senderAddress = (s: Identity | Address): Address => (typeof s === 'string' ? s : s.address);

/** X25519 public key of an Ed25519 identity address. */
export function x25519PublicOf(addr: Address): Uint8Array {
  try {
    return ed25519.utils.toMontgomery(addrBytes(addr));
  } catch {
    throw new SealError('bad-key', `${addr} is not an Ed25519 public key (off curve): cannot seal to it`);
  }
}

/** X25519 secret of an identity (from its Ed25519 seed, as libsodium's crypto_sign_ed25519_sk_to_curve25519). */
export function x25519SecretOf(id: Identity): Uint8Array {
  return ed25519.utils.toMontgomerySecret(id.seed());
}

function associatedData(sender: Address, recipient: Address, type: MessageType, nonce: Uint8Array): Uint8Array {
  if (nonce.length !== NONCE_BYTES) throw new SealError('malformed', `message nonce must have ${NONCE_BYTES} bytes`);
  const ad = new Uint8Array(LABEL.length + 32 + 32 + 1 + NONCE_BYTES);
  let o = 0;
  ad.set(LABEL, o);
  o += LABEL.length;
  ad.set(addrBytes(sender), o);
  o += 32;
  ad.set(addrBytes(recipient), o);
  o += 32;
  ad[o++] = TYPE_CODES[type];
  ad.set(nonce, o);
  return ad;
}

function deriveKey(
  shared: Uint8Array,
  ephPub: Uint8Array,
  recipientPub: Uint8Array,
): { key: Uint8Array; iv: Uint8Array } {
  const salt = new Uint8Array(64);
  salt.set(ephPub, 0);
  salt.set(recipientPub, 32);
  const okm = hkdf(sha256, shared, salt, LABEL, 56);
  return { key: okm.subarray(0, 32), iv: okm.subarray(32, 56) };
}

/**
 * Seal `plaintext` to `ctx.recipient`. `ephemeralSecret` is for test vectors only: never pass
 * it in production code (a reused ephemeral key reuses the AEAD key and nonce).
 */
export function seal(plaintext: Uint8Array, ctx: SealContext, ephemeralSecret?: Uint8Array): Uint8Array {
  const recipientPub = x25519PublicOf(ctx.recipient);
  const ephSecret = ephemeralSecret ?? x25519.utils.randomSecretKey();
  const ephPub = x25519.getPublicKey(ephSecret);
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(ephSecret, recipientPub);
  } catch {
    throw new SealError('bad-key', `cannot agree on a key with ${ctx.recipient} (low-order point)`);
  }
  const { key, iv } = deriveKey(shared, ephPub, recipientPub);
  const ad = associatedData(senderAddress(ctx.sender), ctx.recipient, ctx.type, ctx.nonce);
  const ct = xchacha20poly1305(key, iv, ad).encrypt(plaintext);
  const out = new Uint8Array(1 + 32 + ct.length);
  out[0] = SEAL_VERSION;
  out.set(ephPub, 1);
  out.set(ct, 33);
  return out;
}

/** Open a box sealed to `ctx.recipient` by `ctx.sender`; throws SealError on any failure. */
export function open(sealed: Uint8Array, ctx: OpenContext): Uint8Array {
  if (sealed.length < SEAL_OVERHEAD) throw new SealError('malformed', `sealed box too short (${sealed.length} bytes)`);
  if (sealed[0] !== SEAL_VERSION) throw new SealError('bad-version', `sealed box version ${sealed[0]} unknown`);
  const ephPub = sealed.subarray(1, 33);
  const recipientPub = x25519PublicOf(ctx.recipient.address);
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(x25519SecretOf(ctx.recipient), ephPub);
  } catch {
    throw new SealError('bad-key', 'sealed box carries an invalid ephemeral key');
  }
  const { key, iv } = deriveKey(shared, ephPub, recipientPub);
  const ad = associatedData(ctx.sender, ctx.recipient.address, ctx.type, ctx.nonce);
  try {
    return xchacha20poly1305(key, iv, ad).decrypt(sealed.subarray(33));
  } catch {
    throw new SealError('auth-failed', 'sealed box does not open: wrong recipient, sender, type or nonce, or tampered');
  }
}

/** JSON convenience for connect info: seal/open a JSON value. */
export function sealJson(value: unknown, ctx: SealContext): Uint8Array {
  return seal(new TextEncoder().encode(JSON.stringify(value)), ctx);
}
export function openJson<T = unknown>(sealed: Uint8Array, ctx: OpenContext): T {
  const bytes = open(sealed, ctx);
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch {
    throw new SealError('malformed', 'sealed box holds no valid JSON');
  }
}
