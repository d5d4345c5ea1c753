// `npm run bench -- frames`: what the origin's frame authentication costs (docs/mesh.md
// "Tampering"), 1 KiB payloads, on one core:
//  1. µs per frame for the buyer's check: the old scheme (an Ed25519 signature on every frame,
//     verified on every frame) vs the hash chain with signed checkpoints (market/mesh.ts
//     ChainVerifier: one SHA-256 per frame, one verify per checkpoint); and the origin's side
//  2. wire bytes per frame (DATA, old SDATA, chained SDATA at 10 Hz and at 1 Hz) and what 10 direct
//     buyers cost the origin's upload in multiples of the payload rate (issue 17's goal: ≤ 11×),
//     counting yamux (12) and Noise (18) per frame as the mesh bench does
import { createPrivateKey, createPublicKey, sign as edSign, verify as edVerify } from 'node:crypto';
import { getAddressEncoder, type Address } from '@solana/kit';
import { Identity } from '../../src-main/core/identity/identity';
import { encodeData, type ChainFields } from '../../src-main/core/market/frames';
import { ChainVerifier, CHECKPOINT_FRAMES, frameChainer } from '../../src-main/core/market/frame-chain';

const PAYLOAD = 1024;
const FRAMES = 4000;
const ROUNDS = 3;
/** Per frame on a libp2p stream besides the Axon frame: yamux header and Noise tag (docs/bench.md). */
const TRANSPORT = 12 + 18;

// the per-frame signature Axon used before the chain (axon/frame/1): Ed25519 over
// context ‖ listing id ‖ 0x00 ‖ ts u64 BE ‖ payload, signed and verified on every frame
const PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI = Buffer.from('302a300506032b6570032100', 'hex');
function oldScheme(seed: Uint8Array, address: string, id: string) {
  const key = createPrivateKey({ key: Buffer.concat([PKCS8, seed]), format: 'der', type: 'pkcs8' });
  const pub = createPublicKey({
    key: Buffer.concat([SPKI, Buffer.from(getAddressEncoder().encode(address as Address))]),
    format: 'der',
    type: 'spki',
  });
  const prefix = Buffer.concat([Buffer.from('axon/frame/1\0'), Buffer.from(id), Buffer.from([0])]);
  const bytes = (ts: number, p: Uint8Array): Buffer => {
    const t = Buffer.allocUnsafe(8);
    t.writeBigUInt64BE(BigInt(ts));
    return Buffer.concat([prefix, t, p]);
  };
  return {
    sign: (ts: number, p: Uint8Array) => edSign(null, bytes(ts, p), key),
    verify: (ts: number, p: Uint8Array, sig: Uint8Array) => edVerify(null, bytes(ts, p), pub, sig),
  };
}

/** Best of ROUNDS: µs per call of `fn` over `n` calls. */
function usPer(n: number, fn: (i: number) => void): number {
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn(i);
    best = Math.min(best, ((performance.now() - t0) * 1000) / n);
  }
  return best;
}

export default async function run(): Promise<void> {
  const origin = Identity.generate();
  const id = `${origin.address}:bench`;
  const payloads = Array.from({ length: FRAMES }, (_, i) => Buffer.alloc(PAYLOAD, i & 0xff));
  const ts = (i: number): number => 1_700_000_000_000 + i * 100;

  // the old scheme
  const old = oldScheme(origin.seed(), origin.address, id);
  const sigs = payloads.map((p, i) => old.sign(ts(i), p));
  const oldSign = usPer(FRAMES, (i) => old.sign(ts(i), payloads[i]!));
  const oldVerify = usPer(FRAMES, (i) => {
    if (!old.verify(ts(i), payloads[i]!, sigs[i]!)) throw new Error('old signature did not verify');
  });

  // the chain: a 10 Hz stream (its clock moves 100 ms a frame: a checkpoint every 10th frame)
  let clock = 0;
  const chained: ChainFields[] = [];
  const chainer = frameChainer(origin.seed(), id, () => clock);
  payloads.forEach((p, i) => {
    clock = i * 100;
    chained.push(chainer(ts(i), p));
  });
  const newOrigin = usPer(FRAMES, (i) => {
    clock += 100; // the same chainer goes on: a checkpoint every 10th frame still
    chainer(ts(i), payloads[i]!);
  });
  const newVerify = usPer(
    FRAMES,
    (() => {
      let v = new ChainVerifier(id);
      return (i: number) => {
        if (i === 0) v = new ChainVerifier(id);
        if (v.check({ seq: i, ts: ts(i), payload: payloads[i]!, chain: chained[i]! }))
          throw new Error('chain did not verify');
      };
    })(),
  );
  const checkpoints = chained.filter((c) => c.checkpoint).length;

  // wire bytes per frame
  const wire = (chain?: ChainFields): number => encodeData(0, 0, payloads[0]!, chain).length;
  const data = wire();
  const oldSdata = data + 64; // the old SDATA: seq ‖ ts ‖ sig(64) ‖ payload
  const chained10 = chained.reduce((s, c) => s + wire(c), 0) / FRAMES;
  const chained1 = wire(chained[0]); // 1 Hz: every frame ≥ 1 s after the last checkpoint is one
  const upload = (perFrame: number): string => `${((10 * (perFrame + TRANSPORT)) / PAYLOAD).toFixed(2)} ×`;

  const rows: [string, string, string][] = [
    ['buyer check, per-frame Ed25519 verify (old)', `${oldVerify.toFixed(1)} µs/frame`, ''],
    [
      'buyer check, hash chain + checkpoint verify (new)',
      `${newVerify.toFixed(1)} µs/frame`,
      `${(oldVerify / newVerify).toFixed(1)}× less; ${checkpoints} checkpoints in ${FRAMES} frames`,
    ],
    ['origin, per-frame Ed25519 sign (old)', `${oldSign.toFixed(1)} µs/frame`, ''],
    ['origin, hash chain + checkpoint sign (new)', `${newOrigin.toFixed(1)} µs/frame`, ''],
    ['wire bytes, DATA (unsigned)', `${data} B/frame`, `10 buyers: ${upload(data)} the payload rate`],
    ['wire bytes, SDATA signed per frame (old)', `${oldSdata} B/frame`, `10 buyers: ${upload(oldSdata)}`],
    [
      'wire bytes, chained SDATA at 10 Hz (new)',
      `${chained10.toFixed(1)} B/frame`,
      `10 buyers: ${upload(chained10)}; checkpoint every ${CHECKPOINT_FRAMES} frames`,
    ],
    ['wire bytes, chained SDATA at ≤ 1 Hz (new)', `${chained1} B/frame`, 'every frame a checkpoint'],
  ];
  console.log(`1 KiB payloads, ${FRAMES} frames, best of ${ROUNDS} rounds; issue 17's goal: ≤ 11 × for 10 buyers`);
  const w = Math.max(...rows.map((r) => r[0].length));
  const v = Math.max(...rows.map((r) => r[1].length));
  for (const [m, val, note] of rows) console.log(`${m.padEnd(w)}  ${val.padStart(v)}  ${note}`);
}
