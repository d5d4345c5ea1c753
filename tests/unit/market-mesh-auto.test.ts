// Automatic rebroadcasters (market/mesh-auto.ts, docs/mesh.md): the RebroadcastOffer's schema and
// rules (a bad offer is refused with a specific reason), the "popular" rule, which offer a full
// seller asks, and the opt-in settings.
import { describe, expect, it } from 'vitest';
import { address } from '@solana/kit';
import { decodeEnvelope, encodeEnvelope } from '../../src-main/core/ledger/envelope';
import { messageProblems } from '../../src-main/core/ledger/messages';
import type { RebroadcastOffer, Received } from '../../src-main/core/ledger/types';
import type { ListingRow } from '../../src-main/core/store/listings';
import { loadSettings, parseSettings, SettingsError } from '../../src-main/core/settings';
import { readSettingsView, writeSettings } from '../../src-main/api/settings-api';
import { SettingsPatchSchema } from '../../src-main/api/schemas';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  autoPrice,
  isPopular,
  offerProblem,
  pickAutoOffer,
  POPULAR,
  type KnownAutoOffer,
} from '../../src-main/core/market/mesh-auto';

const SELLER = address('9AhnrBWxtLFKREGaVypo45577Xb5mjkgZnPBAXXSr4ew');
const AUTO = address('7EcDhSYGxXyscszYEp35KHN8vvw3svAuLKTzXwCFLtV');
const AUTO2 = address('GsbwXfJraMomNxBcjYLcG3mxkBUiyWXAB32fGbSMQRdW');
const BUYER = address('4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T');
const NOW = 1_800_000_000_000;

const offer = (o: Partial<RebroadcastOffer> = {}): RebroadcastOffer => ({
  type: 'RebroadcastOffer',
  nonce: new Uint8Array(16).fill(3),
  expiresAt: NOW / 1000 + 1800,
  pricePercent: 100,
  streams: 2,
  maxLamports: 20_000_000n,
  ...o,
});
const rx = (m: RebroadcastOffer, blockTime = NOW / 1000): Received<RebroadcastOffer> => ({
  signature: 'sig',
  slot: 1n,
  blockTime,
  sender: AUTO,
  topic: SELLER,
  message: m,
});

describe('RebroadcastOffer: the schema refuses bad offers with a specific reason', () => {
  it('a good offer passes and round-trips through the envelope', () => {
    expect(messageProblems(offer())).toEqual([]);
    const r = decodeEnvelope(encodeEnvelope(offer()));
    expect(r.ok && r.message).toEqual(offer());
  });

  it.each([
    ['a price of 0 %', { pricePercent: 0 }, /^pricePercent: /],
    ['a price above 1000 %', { pricePercent: 1001 }, /^pricePercent: .*1000/],
    ['a fractional price', { pricePercent: 99.5 }, /^pricePercent: /],
    ['more than 64 streams', { streams: 65 }, /^streams: .*64/],
    ['negative streams', { streams: -1 }, /^streams: /],
    ['a negative cap', { maxLamports: -1n }, /^maxLamports: /],
    ['a cap above i64', { maxLamports: 1n << 63n }, /^maxLamports: above .*i64 max/],
    ['a cap as a plain number', { maxLamports: 5 as unknown as bigint }, /^maxLamports: /],
  ])('%s', (_what, patch, reason) => {
    const problems = messageProblems(offer(patch as Partial<RebroadcastOffer>));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(reason);
  });

  it('an unknown field or a missing one is refused, naming it', () => {
    expect(messageProblems({ ...offer(), extra: 1 })).toEqual([expect.stringMatching(/extra/)]);
    const { streams: _s, ...missing } = offer();
    expect(messageProblems(missing)).toEqual([expect.stringMatching(/^streams: /)]);
  });

  it('the rules beyond the schema: lifetime, expiry, a cap of 0', () => {
    expect(offerProblem(rx(offer()), NOW)).toBeNull();
    expect(offerProblem(rx(offer({ expiresAt: NOW / 1000 + 4000 })), NOW)).toMatch(
      /lives 4000 s past its landing, more than 3600 s/,
    );
    expect(offerProblem(rx(offer({ expiresAt: NOW / 1000 - 1 })), NOW)).toBe('it has expired');
    expect(offerProblem(rx(offer({ maxLamports: 0n })), NOW)).toMatch(/spending cap of 0/);
    // a withdrawal (no stream to spare) may carry a cap of 0
    expect(offerProblem(rx(offer({ streams: 0, maxLamports: 0n })), NOW)).toBeNull();
  });
});

describe('the popular rule (one place: POPULAR)', () => {
  it(`is ${POPULAR.buyers} distinct buyers within ${POPULAR.windowMs / 60_000} minutes`, () => {
    expect(isPopular([{ buyer: BUYER, at: NOW }], NOW)).toBe(false);
    // one buyer asking again and again is not demand
    expect(
      isPopular(
        [
          { buyer: BUYER, at: NOW - 1000 },
          { buyer: BUYER, at: NOW },
        ],
        NOW,
      ),
    ).toBe(false);
    expect(
      isPopular(
        [
          { buyer: BUYER, at: NOW - 1000 },
          { buyer: AUTO, at: NOW },
        ],
        NOW,
      ),
    ).toBe(true);
    expect(
      isPopular(
        [
          { buyer: BUYER, at: NOW - POPULAR.windowMs - 1 },
          { buyer: AUTO, at: NOW },
        ],
        NOW,
      ),
    ).toBe(false);
  });
});

describe('which automatic rebroadcaster a full seller asks', () => {
  const listing: ListingRow = {
    id: `${SELLER}:wx`,
    seller: SELLER,
    streamId: 'wx',
    title: 't',
    description: '',
    tags: [],
    format: 'application/x-ndjson',
    rateMilliHz: 10_000,
    priceDirect: 60_000n,
    priceRelay: 30_000n,
    periodSec: 60,
    region: null,
    origin: null,
    healthy: true,
    own: true,
    publishedAt: NOW,
    expiresAt: NOW + 600_000,
    delistedAt: null,
    signature: null,
    mint: null,
    schemaHint: null,
    upstream: null,
    hops: 0,
    hopMs: null,
    addrs: [],
    full: false,
  };
  const known = (node: string, o: Partial<KnownAutoOffer> = {}): KnownAutoOffer => ({
    node,
    pricePercent: 100,
    streams: 1,
    maxLamports: 1_000_000n,
    expiresAt: NOW + 60_000,
    ...o,
  });
  const ctx = { me: SELLER, buyer: BUYER, chain: [SELLER], declined: () => false, now: NOW };

  it('the cheapest that its buyers would follow (price at most the direct price they accepted)', () => {
    expect(autoPrice(30_000n, 150)).toBe(45_000n);
    const pick = pickAutoOffer([known(AUTO, { pricePercent: 150 }), known(AUTO2, { pricePercent: 120 })], listing, ctx);
    expect(pick.offer?.node).toBe(AUTO2);
    expect(pick.offer && pick.price).toBe(36_000n);
  });

  it('none fits: each reason is said', () => {
    const none = pickAutoOffer(
      [
        known(AUTO, { pricePercent: 201 }),
        known(AUTO2, { maxLamports: 10n }),
        known(BUYER),
        known(SELLER),
        known(address('8opHzTAnfzRpPEx21XtnrVTX28YQuCpAjcn1PczScKh'), { streams: 0 }),
      ],
      listing,
      ctx,
    );
    expect(none.offer).toBeNull();
    expect(none.why).toContain('60300 per minute is above the 60000 its buyers accept');
    expect(none.why).toContain('its cap 10 pays no period of 60000');
    expect(none.why).toContain('in the chain');
    expect(none.why).toContain('no stream to spare');
    expect(pickAutoOffer([], listing, ctx).why).toBe('no automatic rebroadcaster offers to take it');
    expect(pickAutoOffer([known(AUTO)], { ...listing, priceRelay: null }, ctx).why).toBe(
      'the stream allows no rebroadcast',
    );
    expect(pickAutoOffer([known(AUTO)], { ...listing, mint: AUTO2 }, ctx).why).toMatch(/SOL-priced streams only/);
    expect(pickAutoOffer([known(AUTO)], { ...listing, origin: 'x:y', hops: 3 }, ctx).why).toMatch(/3 hops deep/);
    expect(pickAutoOffer([known(AUTO)], listing, { ...ctx, declined: () => true }).why).toMatch(
      /did not take the last ask/,
    );
  });
});

describe('settings mesh.autoRebroadcast', () => {
  it('is opt-in: off by default, with its defaults', () => {
    expect(parseSettings({}).mesh.autoRebroadcast).toEqual({
      enabled: false,
      pricePercent: 100,
      maxStreams: 2,
      uploadKiBps: 1024,
      maxLamports: 20_000_000,
      idleSec: 300,
    });
    expect(parseSettings({ mesh: { autoRebroadcast: { enabled: true } } }).mesh).toMatchObject({
      uploadKiBps: 2048,
      autoRebroadcast: { enabled: true, pricePercent: 100 },
    });
  });

  it('bad values are refused naming the field', () => {
    const bad = (v: unknown): string[] => {
      try {
        parseSettings({ mesh: { autoRebroadcast: v } });
        return [];
      } catch (e) {
        return (e as SettingsError).problems;
      }
    };
    expect(bad({ pricePercent: 5000 })).toEqual([
      'mesh.autoRebroadcast.pricePercent: at most 1000 (10× the rebroadcast price)',
    ]);
    expect(bad({ idleSec: 1 })[0]).toMatch(/^mesh\.autoRebroadcast\.idleSec: /);
    expect(bad({ maxLamports: 1.5 })).toEqual(['mesh.autoRebroadcast.maxLamports: a whole number of lamports']);
    expect(bad({ surprise: true })[0]).toMatch(/^mesh\.autoRebroadcast: .*surprise/);
  });

  it('the Settings screen reads and writes it (restart needed), keeping the rest of the mesh', () => {
    const dir = mkdtempSync(join(tmpdir(), 'axon-auto-settings-'));
    try {
      const ctx = { dataDir: dir, settingsFile: join(dir, 'settings.json') };
      writeFileSync(ctx.settingsFile, JSON.stringify({ mesh: { uploadKiBps: 512 } }));
      expect(readSettingsView(ctx).autoRebroadcast).toMatchObject({ enabled: false, maxLamports: '20000000' });
      const want = {
        enabled: true,
        pricePercent: 80,
        maxStreams: 3,
        uploadKiBps: 256,
        maxLamports: '7000000',
        idleSec: 60,
      };
      expect(SettingsPatchSchema.safeParse({ autoRebroadcast: want }).success).toBe(true);
      const r = writeSettings(ctx, { autoRebroadcast: want });
      expect(r.restartRequired).toBe(true);
      expect(r.settings.autoRebroadcast).toEqual(want);
      expect(loadSettings(ctx.settingsFile).mesh).toEqual({
        uploadKiBps: 512,
        autoRebroadcast: { ...want, maxLamports: 7_000_000 },
      });
      // the API refuses a bad one with the field's reason
      const bad = SettingsPatchSchema.safeParse({ autoRebroadcast: { ...want, pricePercent: 2000 } });
      expect(bad.success).toBe(false);
      expect(bad.error?.issues[0]?.message).toBe('automatic rebroadcaster price: at most 1000 %');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
