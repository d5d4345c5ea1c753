// Runs in: main, preload and renderer (pure TypeScript, no imports). One identity format for
// peers on every screen: the Solana address (base58 of the Ed25519 public key), which is also the
// libp2p PeerId (the identity multihash of the same key) — shown on hover and copied on demand.

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

function b58decode(s: string): Uint8Array | null {
  let n = 0n;
  for (const c of s) {
    const i = ALPHABET.indexOf(c);
    if (i < 0) return null;
    n = n * 58n + BigInt(i);
  }
  const bytes: number[] = [];
  while (n > 0n) {
    bytes.unshift(Number(n % 256n));
    n /= 256n;
  }
  for (const c of s) {
    if (c !== '1') break;
    bytes.unshift(0);
  }
  return Uint8Array.from(bytes);
}

function b58encode(b: Uint8Array): string {
  let n = 0n;
  for (const x of b) n = n * 256n + BigInt(x);
  let out = '';
  while (n > 0n) {
    out = ALPHABET[Number(n % 58n)]! + out;
    n /= 58n;
  }
  for (const x of b) {
    if (x !== 0) break;
    out = '1' + out;
  }
  return out;
}

/** identity multihash (0x00, length 36) of the protobuf PublicKey { Type: Ed25519, Data: 32 bytes } */
const PEER_ID_PREFIX = [0x00, 0x24, 0x08, 0x01, 0x12, 0x20];

/** The libp2p PeerId ("12D3KooW…") of a Solana address; null when it is not one. */
export function addressToPeerIdText(address: string): string | null {
  const key = b58decode(address);
  if (!key || key.length !== 32) return null;
  return b58encode(Uint8Array.from([...PEER_ID_PREFIX, ...key]));
}

/** The Solana address of an Ed25519 PeerId ("12D3KooW…"); null when it is not one. */
export function peerIdTextToAddress(peerId: string): string | null {
  const b = b58decode(peerId);
  if (!b || b.length !== 38 || PEER_ID_PREFIX.some((x, i) => b[i] !== x)) return null;
  return b58encode(b.slice(6));
}
