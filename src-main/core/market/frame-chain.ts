// Runs in: Node. Origin signatures of a stream that may be rebroadcast (docs/mesh.md "Tampering"):
// the origin's frames hash-chained with signed checkpoints (frameChainer), and a buyer's check of
// them (ChainVerifier).
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  sign as edSign,
  verify as edVerify,
  type KeyObject,
} from 'node:crypto';
import { getAddressEncoder } from '@solana/kit';
import type { ChainFields } from './frames';

// An origin whose stream may be rebroadcast hash-chains its frames and signs the chain at
// checkpoints, with its identity key (its address is the public key):
//   prefix = "axon/frame/2" ‖ 0x00 ‖ origin listing id (UTF-8) ‖ 0x00
//   h_0 = SHA-256(prefix),  h_i = SHA-256(h_{i-1} ‖ ts_i u64 BE ‖ payload_i)
// A checkpoint frame carries h_{i-1} and the Ed25519 signature over prefix ‖ h_i; the others carry
// nothing more (KIND_SDATA, frames.ts). The first frame is a checkpoint, then every
// CHECKPOINT_FRAMES-th or the first ≥ CHECKPOINT_MS after the last one. The per-hop seq is not in
// the chain (every hop renumbers): the chain itself fixes the order. Every hop passes the chain
// fields on unchanged; a buyer of a rebroadcast checks the chain from a checkpoint on
// (ChainVerifier), so a rebroadcaster cannot alter, drop, insert or reorder frames, nor change a
// timestamp, without the next checkpoint (≤ CHECKPOINT_FRAMES frames or ~CHECKPOINT_MS later)
// telling. One signature per checkpoint instead of per frame: 1 byte per frame plus 96 per
// checkpoint on the wire, one SHA-256 per frame and one verify per checkpoint for a buyer.

/** The origin makes a checkpoint at least every this many frames… */
export const CHECKPOINT_FRAMES = 10;
/** …and at the first frame this long (ms) after the last checkpoint: a slow stream signs each frame. */
export const CHECKPOINT_MS = 1000;

const FRAME_CONTEXT = Buffer.from('axon/frame/2\0', 'utf8');
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

const prefixOf = (originListingId: string): Buffer =>
  Buffer.concat([FRAME_CONTEXT, Buffer.from(originListingId, 'utf8'), Buffer.from([0])]);

/** h_0 of the chain of the origin listing whose prefix this is. */
const chainStart = (prefix: Buffer): Buffer => createHash('sha256').update(prefix).digest();

/** The next link: h_i = SHA-256(h_{i-1} ‖ ts u64 BE ‖ payload). */
export function chainLink(prev: Uint8Array, ts: number, payload: Uint8Array): Buffer {
  const t = Buffer.allocUnsafe(8);
  t.writeBigUInt64BE(BigInt(ts));
  return createHash('sha256').update(prev).update(t).update(payload).digest();
}

/** What the origin's hub asks for each frame: its chain fields (a checkpoint or not). */
export type FrameChainer = (ts: number, payload: Uint8Array) => ChainFields;

/**
 * The origin's frame chainer for its listing `originListingId` (node:crypto SHA-256 and Ed25519):
 * called once per frame, in publishing order. `now` is the clock the checkpoint interval reads.
 */
export function frameChainer(seed: Uint8Array, originListingId: string, now: () => number = Date.now): FrameChainer {
  const key: KeyObject = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
  const prefix = prefixOf(originListingId);
  let h = chainStart(prefix);
  let since = CHECKPOINT_FRAMES; // frames since the last checkpoint: the first frame is one
  let lastAt = -Infinity;
  return (ts, payload) => {
    const prev = h;
    h = chainLink(prev, ts, payload);
    const t = now();
    if (since < CHECKPOINT_FRAMES && t - lastAt < CHECKPOINT_MS) {
      since++;
      return {};
    }
    since = 1;
    lastAt = t;
    const sig = new Uint8Array(edSign(null, Buffer.concat([prefix, h]), key));
    return { checkpoint: { prev: new Uint8Array(prev), sig } };
  };
}

/** What a chain check found wrong with a frame (ChainVerifier.check). */
export type ChainProblem = 'unsigned' | 'broken';

/**
 * A buyer's check of the frames of one stream session against the chain of the origin of listing
 * `originListingId` (seller:stream). Frames go in in the order received; the first one, and the
 * first after a seq gap (frames the seller could not send), must be a checkpoint: it anchors the
 * chain at its `prev`. Every later frame extends the chain; each checkpoint must continue it
 * (`prev` = the chain so far) and carry the origin's signature of the extended chain. A frame is
 * judged at once only when it is a checkpoint: an altered, dropped, inserted or reordered frame
 * shows at the next checkpoint (≤ CHECKPOINT_FRAMES frames or ~CHECKPOINT_MS later).
 */
export class ChainVerifier {
  readonly #key: KeyObject;
  readonly #prefix: Buffer;
  #h: Buffer | null = null;
  #lastSeq = -1;
  /** Checkpoints whose signature verified so far. */
  checkpoints = 0;

  constructor(originListingId: string) {
    const seller = originListingId.split(':')[0]!;
    const pub = Buffer.from(
      getAddressEncoder().encode(seller as Parameters<ReturnType<typeof getAddressEncoder>['encode']>[0]),
    );
    this.#key = createPublicKey({ key: Buffer.concat([SPKI_ED25519, pub]), format: 'der', type: 'spki' });
    this.#prefix = prefixOf(originListingId);
  }

  /** Forget the chain (a new stream session): the next frame must be a checkpoint. */
  reset(): void {
    this.#h = null;
  }

  /** Check the next frame received; null: nothing wrong so far. After a problem the chain is reset. */
  check(f: { seq: number; ts: number; payload: Uint8Array; chain?: ChainFields }): ChainProblem | null {
    if (!f.chain) {
      this.#h = null;
      return 'unsigned';
    }
    const cp = f.chain.checkpoint;
    const follows = this.#h !== null && f.seq === this.#lastSeq + 1;
    let prev: Uint8Array;
    if (follows) prev = this.#h!;
    else if (cp) prev = cp.prev;
    else return this.#broken();
    if (cp && follows && !Buffer.from(cp.prev.buffer, cp.prev.byteOffset, cp.prev.byteLength).equals(prev))
      return this.#broken();
    const h = chainLink(prev, f.ts, f.payload);
    if (cp && !edVerify(null, Buffer.concat([this.#prefix, h]), this.#key, cp.sig)) return this.#broken();
    if (cp) this.checkpoints++;
    this.#h = h;
    this.#lastSeq = f.seq;
    return null;
  }

  #broken(): ChainProblem {
    this.#h = null;
    return 'broken';
  }
}
