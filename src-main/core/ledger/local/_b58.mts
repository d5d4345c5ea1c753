import { toBase58 } from './wire';
import { getBase58Decoder } from '@solana/kit';
import { randomBytes } from 'node:crypto';
const d = getBase58Decoder();
for (let i = 0; i < 20000; i++) { const n = [0, 1, 2, 31, 32, 33, 64][i % 7]!; const b = randomBytes(n); if (i % 5 === 0 && n > 2) { b[0] = 0; b[1] = 0; } const x = toBase58(b), y = d.decode(b); if (x !== y) { console.log('MISMATCH', b.toString('hex'), x, y); process.exit(1); } }
const b = randomBytes(32); let t = performance.now(); for (let i = 0; i < 20000; i++) toBase58(b); console.log('mine µs', (performance.now() - t) / 20); t = performance.now(); for (let i = 0; i < 20000; i++) d.decode(b); console.log('kit µs', (performance.now() - t) / 20);
