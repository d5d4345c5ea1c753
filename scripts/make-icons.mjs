#!/usr/bin/env node
// Draws Axon's icons into resources/ with nothing but Node (zlib): the app icon (a rounded
// indigo→cyan square with three linked nodes) and the tray's state icons (serving / idle /
// error), each at 1x and @2x. Run: node scripts/make-icons.mjs
import { deflateSync } from 'node:zlib';
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const out = join(dirname(dirname(fileURLToPath(import.meta.url))), 'resources');
mkdirSync(out, { recursive: true });

const CRC = new Int32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});
function crc32(buf) {
  let c = -1;
  for (const b of buf) c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
function png(size, pixel) {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    for (let x = 0; x < size; x++) {
      // 4×4 supersampling for smooth edges.
      let r = 0,
        g = 0,
        b = 0,
        a = 0;
      for (let sy = 0; sy < 4; sy++)
        for (let sx = 0; sx < 4; sx++) {
          const [pr, pg, pb, pa] = pixel((x + (sx + 0.5) / 4) / size, (y + (sy + 0.5) / 4) / size);
          r += pr * pa;
          g += pg * pa;
          b += pb * pa;
          a += pa;
        }
      const o = y * (size * 4 + 1) + 1 + x * 4;
      raw[o] = a ? Math.round(r / a) : 0;
      raw[o + 1] = a ? Math.round(g / a) : 0;
      raw[o + 2] = a ? Math.round(b / a) : 0;
      raw[o + 3] = Math.round((a / 16) * 255);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8;
  ihdr[9] = 6;
  ihdr[10] = 0;
  ihdr[11] = 0;
  ihdr[12] = 0;
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const inRoundRect = (x, y, m, r) => {
  const cx = Math.min(Math.max(x, m + r), 1 - m - r);
  const cy = Math.min(Math.max(y, m + r), 1 - m - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
};
const distSeg = (x, y, ax, ay, bx, by) => {
  const t = Math.max(0, Math.min(1, ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)));
  return Math.hypot(x - (ax + t * (bx - ax)), y - (ay + t * (by - ay)));
};
const nodes = [
  [0.3, 0.68],
  [0.5, 0.3],
  [0.72, 0.64],
];

function appIcon(x, y) {
  if (!inRoundRect(x, y, 0.06, 0.2)) return [0, 0, 0, 0];
  const white = [255, 255, 255, 1];
  for (const [nx, ny] of nodes) if (Math.hypot(x - nx, y - ny) < 0.085) return white;
  const links = [
    [0, 1],
    [1, 2],
    [0, 2],
  ];
  for (const [i, j] of links) if (distSeg(x, y, ...nodes[i], ...nodes[j]) < 0.028) return [255, 255, 255, 0.85];
  const t = (x + y) / 2; // indigo #4f46e5 → cyan #06b6d4
  return [Math.round(79 + (6 - 79) * t), Math.round(70 + (182 - 70) * t), Math.round(229 + (212 - 229) * t), 1];
}

function trayIcon(color) {
  return (x, y) => {
    const d = Math.hypot(x - 0.5, y - 0.5);
    if (d < 0.2) return [...color, 1];
    if (d > 0.34 && d < 0.46) return [...color, 1];
    return [0, 0, 0, 0];
  };
}

const write = (name, buf) => {
  writeFileSync(join(out, name), buf);
  console.log(`resources/${name}  ${buf.length} bytes`);
};
write('icon.png', png(512, appIcon));
write('icon-256.png', png(256, appIcon));
const fav = png(64, appIcon);
writeFileSync(join(out, '..', 'src-renderer', 'public', 'favicon.png'), fav);
console.log(`src-renderer/public/favicon.png  ${fav.length} bytes`);
const states = { serving: [22, 163, 74], idle: [100, 116, 139], error: [220, 38, 38] };
for (const [name, color] of Object.entries(states)) {
  write(`tray-${name}.png`, png(16, trayIcon(color)));
  write(`tray-${name}@2x.png`, png(32, trayIcon(color)));
}
