// Runs in: Node (Electron main or the headless bridge). zod schemas for every command's
// arguments: nothing from the renderer (or from a browser talking to the bridge) reaches the node
// without passing through here.
import { isAddress } from '@solana/kit';
import { z } from 'zod';
import type { CommandName } from '../../src-shared/contract/api';
import { schemaHintProblem } from '../../src-shared/stream-schema';

const lamports = z
  .string()
  .regex(/^\d{1,20}$/, 'lamports must be a whole number written as a decimal string')
  // zod runs this check even when the regex failed: BigInt('1e5') would throw (HTTP 500)
  .refine((s) => !/^\d{1,20}$/.test(s) || BigInt(s) <= 18_446_744_073_709_551_615n, 'lamports out of range');
const id = z.string().min(1, 'must not be empty').max(200, 'too long (max 200 characters)');
const listingId = z
  .string()
  .regex(/^[1-9A-HJ-NP-Za-km-z]{32,44}:[A-Za-z0-9._-]{1,64}$/, 'expected a listing id: <seller address>:<stream id>');
const streamId = z.string().regex(/^[A-Za-z0-9._-]{1,48}$/, 'stream id: 1–48 letters, digits, dot, dash or underscore');
const tier = z.enum(['direct', 'relay']);
const limit = z.number().int().min(1).max(10_000).optional();
const hostPort = z.string().regex(/^[A-Za-z0-9.\-:[\]]+:\d{1,5}$/, 'expected host:port, e.g. stun.example.org:3478');

export const ListingQuerySchema = z
  .object({
    text: z.string().max(200).optional(),
    format: z.string().max(100).optional(),
    tag: z.string().max(100).optional(),
    region: z.string().max(100).optional(),
    maxPrice: lamports.optional(),
    freshWithinSec: z
      .number()
      .int()
      .min(1)
      .max(86_400 * 30)
      .optional(),
  })
  .strict();

export const BuyRequestSchema = z
  .object({
    listingId,
    tier,
    maxMinutes: z
      .number()
      .int()
      .min(1, 'buy at least 1 minute')
      .max(60 * 24 * 30, 'at most 30 days at once'),
    maxLamports: lamports.optional(),
    confirmDuplicate: z.boolean().optional(),
  })
  .strict();

export const RebroadcastRequestSchema = z
  .object({
    listingId,
    pricePerMinute: lamports,
    maxMinutes: z
      .number()
      .int()
      .min(1, 'buy at least 1 minute')
      .max(60 * 24 * 30, 'at most 30 days at once'),
  })
  .strict();

export const SourceSpecSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('synthetic'), feed: z.enum(['aircraft', 'weather']) }).strict(),
  z.object({ kind: z.literal('file'), path: z.string().min(1).max(4096) }).strict(),
  z.object({ kind: z.literal('command'), command: z.string().min(1).max(4096) }).strict(),
  z
    .object({
      kind: z.literal('tcp'),
      host: z.string().min(1).max(255),
      port: z.number().int().min(1).max(65535),
    })
    .strict(),
  z.object({ kind: z.literal('udp'), port: z.number().int().min(1).max(65535) }).strict(),
  z
    .object({
      kind: z.literal('websocket'),
      url: z.url({ protocol: /^wss?$/, error: 'expected a ws:// or wss:// URL' }),
    })
    .strict(),
]);

export const SellRequestSchema = z
  .object({
    streamId: streamId.optional(),
    title: z.string().trim().min(1, 'give the stream a title').max(80, 'at most 80 characters'),
    description: z.string().max(280, 'at most 280 characters'),
    tags: z.array(z.string().min(1).max(24, 'a tag is at most 24 characters')).max(8, 'at most 8 tags'),
    format: z
      .string()
      .max(64, 'at most 64 characters')
      .regex(/^[\w.+-]+\/[\w.+-]+$/, 'format must be a MIME type, e.g. application/x-ndjson'),
    source: SourceSpecSchema,
    priceDirect: lamports,
    priceRelay: lamports.optional(),
    periodSec: z.number().int().min(5, 'a period is at least 5 s').max(3600, 'a period is at most 1 h'),
    region: z.string().max(32, 'at most 32 characters').optional(),
    capacity: z.number().int().min(1).max(10_000).optional(),
    mint: z
      .string()
      .refine((m) => isAddress(m), 'mint must be a token mint address')
      .optional(),
    schema: z
      .string()
      .trim()
      .superRefine((s, ctx) => {
        const problem = s ? schemaHintProblem(s) : undefined;
        if (problem) ctx.addIssue({ code: 'custom', message: `fields and units: ${problem}` });
      })
      .optional(),
    preview: z.enum(['recent', 'off']).optional(),
  })
  .strict();

export const SettingsPatchSchema = z
  .object({
    cluster: z.union([
      z.enum(['local', 'devnet', 'mainnet-beta']),
      z.url({ protocol: /^https?$/, error: 'cluster must be local, devnet, mainnet-beta or an http(s) RPC URL' }),
    ]),
    market: z.string().min(1).max(32),
    listenPort: z.number().int().min(0).max(65535),
    roles: z
      .object({
        relay: z.enum(['auto', 'on', 'off']),
        reflector: z.enum(['auto', 'on', 'off']),
        limits: z
          .object({
            maxReservations: z.number().int().min(1).max(4096),
            perConnectionMiB: z.number().int().min(1).max(1_048_576),
            perConnectionMinutes: z.number().int().min(1).max(10_080),
            totalKiBPerSec: z.number().int().min(0).max(10_485_760).optional(),
            dailyMiB: z.number().int().min(0).max(1_073_741_824).optional(),
          })
          .strict(),
        relayPrice: z.number().int().min(0).max(1_000_000_000).optional(),
        maxRelayPrice: z.number().int().min(0).max(1_000_000_000).optional(),
        relayGraceSec: z.number().int().min(5).max(3600).optional(),
        relayPayPollSec: z.number().int().min(1).max(300).optional(),
      })
      .strict(),
    stunServers: z.array(hostPort).max(16),
    startOnLogin: z.boolean(),
    oneClickBuyMax: z
      .string()
      .regex(/^\d{1,16}$/, 'one-click limit: a whole number of lamports')
      .refine((s) => !/^\d{1,16}$/.test(s) || Number(s) <= Number.MAX_SAFE_INTEGER, 'one-click limit is too large'),
    rpcUrl: z
      .url({ protocol: /^https?$/, error: 'the RPC URL must be an http(s) URL' })
      .max(2048)
      .nullable(),
    rpcWsUrl: z
      .url({ protocol: /^wss?$/, error: 'the WebSocket URL must be a ws(s) URL' })
      .max(2048)
      .nullable(),
    rpcPriorityFeeCap: z
      .string()
      .regex(/^\d{1,10}$/, 'priority-fee cap: a whole number of lamports')
      .refine((s) => !/^\d{1,10}$/.test(s) || Number(s) <= 1_000_000_000, 'priority-fee cap: at most 1 SOL'),
    autoRebroadcast: z
      .object({
        enabled: z.boolean(),
        pricePercent: z.number().int().min(1).max(1000, 'automatic rebroadcaster price: at most 1000 %'),
        maxStreams: z.number().int().min(1).max(64),
        uploadKiBps: z.number().int().min(1).max(10_000_000),
        maxLamports: z
          .string()
          .regex(/^\d{1,16}$/, 'automatic rebroadcaster cap: a whole number of lamports')
          .refine(
            (s) => !/^\d{1,16}$/.test(s) || (Number(s) >= 1 && Number(s) <= Number.MAX_SAFE_INTEGER),
            'automatic rebroadcaster cap: from 1 lamport',
          ),
        idleSec: z.number().int().min(10).max(86_400),
      })
      .strict(),
  })
  .partial()
  .strict();

/** Argument tuples per command (the renderer calls with positional arguments). */
export const commandArgs = {
  status: z.tuple([]),
  listings: z.tuple([ListingQuerySchema.optional()]),
  quote: z.tuple([BuyRequestSchema]),
  preview: z.tuple([z.string().min(1).max(200), z.number().int().min(1).max(10).optional()]),
  buy: z.tuple([BuyRequestSchema]),
  rebroadcast: z.tuple([RebroadcastRequestSchema]),
  purchases: z.tuple([]),
  recentFrames: z.tuple([id, limit]),
  renew: z.tuple([
    id,
    z
      .number()
      .int()
      .min(1)
      .max(60 * 24 * 30),
  ]),
  stopPurchase: z.tuple([id]),
  ownStreams: z.tuple([]),
  sell: z.tuple([SellRequestSchema]),
  setStreamPaused: z.tuple([streamId, z.boolean()]),
  removeStream: z.tuple([streamId]),
  setSellingPaused: z.tuple([z.boolean()]),
  sales: z.tuple([]),
  peers: z.tuple([]),
  wallet: z.tuple([]),
  tokenFaucet: z.tuple([lamports]),
  airdrop: z.tuple([z.number().positive('ask for more than 0 SOL').max(100, 'at most 100 SOL per airdrop')]),
  payments: z.tuple([limit]),
  history: z.tuple([limit]),
  connections: z.tuple([limit]),
  settings: z.tuple([]),
  updateSettings: z.tuple([SettingsPatchSchema]),
} satisfies Record<CommandName, z.ZodType>;
