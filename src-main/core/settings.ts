// Runs in: Node. User settings: one JSON file in the data directory, validated by a schema.
// A bad file never crashes the app silently: it is reported with the exact field and reason.
import { z } from 'zod';
import { readFileSync, writeFileSync, existsSync, renameSync } from 'node:fs';

export const ClusterSchema = z.union([
  z.enum(['local', 'devnet', 'mainnet-beta']),
  z.url({ protocol: /^https?$/, error: 'cluster must be local, devnet, mainnet-beta or an http(s) RPC URL' }),
]);
export type Cluster = z.infer<typeof ClusterSchema>;

/** A role: 'auto' (serve once this node finds itself publicly reachable), 'on' or 'off'. The old
 *  booleans of settings.json are read as on/off and written back as such (loadSettings). */
export const RoleModeSchema = z.preprocess(
  (v) => (typeof v === 'boolean' ? (v ? 'on' : 'off') : v),
  z.enum(['auto', 'on', 'off'], { error: "a role is 'auto', 'on' or 'off'" }),
);

/** Limits of the relay role, whoever turned it on. */
export const RelayLimitsSchema = z
  .object({
    /** Peers that may hold a reservation at once. */
    maxReservations: z.number().int().min(1).max(4096).default(128),
    /** Data per relayed connection and direction (MiB). */
    perConnectionMiB: z.number().int().min(1).max(1_048_576).default(8192),
    /** Duration of one relayed connection (minutes). */
    perConnectionMinutes: z.number().int().min(1).max(10_080).default(360),
    /** All relayed connections together, both directions (KiB/s); 0 = no cap. Over it the relay
     *  throttles every circuit. */
    totalKiBPerSec: z.number().int().min(0).max(10_485_760).default(2048),
    /** All relayed connections together per UTC day (MiB); 0 = no budget. Spent: new reservations
     *  and circuits are refused until the next day. */
    dailyMiB: z.number().int().min(0).max(1_073_741_824).default(51_200),
  })
  .strict();

/** Lamports per minute: an integer (JSON number), at most 1 SOL per minute. */
const lamportsPerMin = z
  .number()
  .int('a price is a whole number of lamports')
  .min(0)
  .max(1_000_000_000, 'at most 1 SOL (1000000000 lamports) per minute');

export const RolesSchema = z
  .object({
    relay: RoleModeSchema.default('auto'),
    reflector: RoleModeSchema.default('auto'),
    limits: RelayLimitsSchema.default({
      maxReservations: 128,
      perConnectionMiB: 8192,
      perConnectionMinutes: 360,
      totalKiBPerSec: 2048,
      dailyMiB: 51_200,
    }),
    /** What this node's relay charges, lamports per minute of a relayed purchase (0 = free). The
     *  buyer pays it beside each period's payment, in the same transaction (docs/market.md). */
    relayPrice: lamportsPerMin.default(0),
    /** The most a buyer pays a relay, lamports per minute: relays that charge more are not used
     *  (0 = free relays only). */
    maxRelayPrice: lamportsPerMin.default(0),
    /** A priced relay cuts a circuit whose peers have not paid this long (s) after it opened or
     *  after its paid time ran out (docs/market.md "Priced relays"). */
    relayGraceSec: z.number().int().min(5).max(3600).default(30),
    /** A priced relay reads the shares paid to it this often (s) while it carries circuits. */
    relayPayPollSec: z.number().int().min(1).max(300).default(3),
  })
  .strict();

/** An RPC URL kept in settings.json: no API key in it (query or user part): keys go to the keychain. */
const PlainRpcUrl = z
  .url({ protocol: /^https?$/, error: 'rpcUrl must be an http(s) URL' })
  .refine((u) => !/[?@]/.test(u.replace(/^https?:\/\//, '')), {
    error: 'rpcUrl must not carry an API key (? or user@): keep such a URL in the keychain (axon rpc key-url)',
  });

/** The automatic rebroadcaster's settings (docs/mesh.md "Automatic rebroadcasters"). */
export const AutoRebroadcastSchema = z
  .object({
    /** Opt-in: off by default. Serves only while the relay role serves. */
    enabled: z.boolean().default(false),
    /** What it charges its buyers, in % of the rebroadcast price of the listing it buys (100 = that price). */
    pricePercent: z.number().int().min(1).max(1000, 'at most 1000 (10× the rebroadcast price)').default(100),
    /** Streams it takes at once. */
    maxStreams: z.number().int().min(1).max(64).default(2),
    /** Upload budget of each stream it rebroadcasts, KiB/s. */
    uploadKiBps: z.number().int().min(1).max(10_000_000).default(1024),
    /** Its spending cap per stream taken: the most it pays the stream's seller (prices and fees), lamports. */
    maxLamports: z.number().int('a whole number of lamports').min(1).max(Number.MAX_SAFE_INTEGER).default(20_000_000),
    /** It stops rebroadcasting a stream (and paying for it) after this long without a buyer, seconds. */
    idleSec: z.number().int().min(10).max(86_400).default(300),
  })
  .strict();
export const AUTO_REBROADCAST_DEFAULTS = {
  enabled: false,
  pricePercent: 100,
  maxStreams: 2,
  uploadKiBps: 1024,
  maxLamports: 20_000_000,
  idleSec: 300,
};

/** The mesh (docs/mesh.md). */
export const MeshSettingsSchema = z
  .object({
    /** Default upload budget of each stream this node sells, KiB/s (0 = none): a buyer whose share
     *  of the stream would take its upload past it is sent to the stream's rebroadcasts. A sell
     *  option (`axon sell --upload`) overrides it per stream. 2048 KiB/s ≈ 16 Mbit/s. */
    uploadKiBps: z.number().int().min(0).max(10_000_000).default(2048),
    /** Automatic rebroadcaster (docs/mesh.md "Automatic rebroadcasters"), opt-in: with the relay
     *  role serving, this node offers (RebroadcastOffer) to take popular streams of full sellers. */
    autoRebroadcast: AutoRebroadcastSchema.default(AUTO_REBROADCAST_DEFAULTS),
  })
  .strict();

// an IPv6 address in brackets: libdatachannel refuses `stun:::1:3478` and `stun:[::1:3478`, and
// every ICE agent made with such a server failed (docs/net.md "How the ladder works")
const hostPort = z
  .string()
  .regex(
    /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/,
    'expected host:port, e.g. stun.example.org:3478 or [2001:db8::1]:3478',
  );

export const SettingsSchema = z
  .object({
    cluster: ClusterSchema.default('local'),
    /** JSON-RPC endpoint of the cluster (overrides the cluster's public one); null = the cluster's.
     *  An endpoint with an API key is kept in the keychain instead (axon rpc key-url). */
    rpcUrl: PlainRpcUrl.nullable().default(null),
    /** Its WebSocket (pubsub) endpoint; null = derived from the RPC URL (http→ws, port + 1). */
    rpcWsUrl: z
      .url({ protocol: /^wss?$/, error: 'rpcWsUrl must be a ws(s) URL' })
      .nullable()
      .default(null),
    /** The most a transaction pays for priority on top of its base fee (lamports). */
    rpcPriorityFeeCapLamports: z.number().int().min(0).max(1_000_000_000).default(10_000),
    /** Request pacing (token buckets, ledger/rpc.ts): requests per 10 s in all and per method;
     *  0 = unpaced. null = automatic: 60 and 24 (under public RPC limits of 100 and 40) for any
     *  endpoint but the embedded local ledger, which is not paced. */
    rpcPacing: z
      .object({
        requestsPer10s: z.number().int().min(0).max(100_000),
        perMethodPer10s: z.number().int().min(0).max(100_000),
      })
      .strict()
      .nullable()
      .default(null),
    /** Port of the embedded local ledger (RPC; pubsub is port+1). */
    localLedgerPort: z.number().int().min(1).max(65534).default(8899),
    /** Market id: separate markets have separate market topics. */
    market: z
      .string()
      .min(1)
      .max(20, 'a market id has at most 20 characters (it seeds the market topic address)')
      .default('main'),
    /** One listen port for TCP and WebRTC-Direct (UDP). 0 = pick a free one. */
    listenPort: z.number().int().min(0).max(65535).default(0),
    /** Relay and reflector roles (docs/net.md "Relay and reflector roles"). */
    roles: RolesSchema.default({
      relay: 'auto',
      reflector: 'auto',
      limits: {
        maxReservations: 128,
        perConnectionMiB: 8192,
        perConnectionMinutes: 360,
        totalKiBPerSec: 2048,
        dailyMiB: 51_200,
      },
      relayPrice: 0,
      maxRelayPrice: 0,
      relayGraceSec: 30,
      relayPayPollSec: 3,
    }),
    stunServers: z.array(hostPort).default([]),
    mesh: MeshSettingsSchema.default({ uploadKiBps: 2048, autoRebroadcast: AUTO_REBROADCAST_DEFAULTS }),
    /** Ask the home router to forward the listen port (NAT-PMP, then UPnP-IGD); docs/net.md. The
     *  environment variable AXON_PORT_MAPPING=off turns it off too (the test configs set it: no
     *  test may talk to the machine's real router). */
    portMapping: z.boolean().default(true),
    /** Birthday probing for EIM↔EDM pairs, in place of a hopeless punch (docs/net.md "Birthday
     *  probing"): its budgets, bounded so a router's conntrack table is not flooded. */
    birthday: z
      .object({
        enabled: z.boolean().default(true),
        /** Sockets the symmetric-NAT side opens. */
        sockets: z.number().int().min(16).max(1024).default(256),
        /** Probes per second the other side sends. */
        probesPerSec: z.number().int().min(10).max(1000).default(200),
        /** Probes in all. */
        maxProbes: z.number().int().min(50).max(10_000).default(2000),
        /** Probing time budget, seconds. */
        probeSec: z.number().int().min(1).max(30).default(10),
      })
      .strict()
      .default({ enabled: true, sockets: 256, probesPerSec: 200, maxProbes: 2000, probeSec: 10 }),
    startOnLogin: z.boolean().default(false),
    /**
     * Buy with one click (no confirmation) when a purchase takes at most this many lamports in all
     * (cap + fees); 0 = always ask first (the default).
     */
    oneClickBuyMaxLamports: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
    /** Headless UI port on loopback. 0 = pick a free one. */
    uiPort: z.number().int().min(0).max(65535).default(0),
  })
  .strict();
export type Settings = z.infer<typeof SettingsSchema>;
/** Settings as written (booleans for roles still accepted, defaults optional). */
export type SettingsInput = z.input<typeof SettingsSchema>;

/** The relay limits of the settings in the net layer's units. */
export function relayLimitsOf(l: Settings['roles']['limits']): {
  maxReservations: number;
  dataLimitBytes: bigint;
  durationLimitMs: number;
  totalBytesPerSec: number;
  dailyBytes: bigint;
} {
  return {
    maxReservations: l.maxReservations,
    dataLimitBytes: BigInt(l.perConnectionMiB) * 1024n * 1024n,
    durationLimitMs: l.perConnectionMinutes * 60_000,
    totalBytesPerSec: l.totalKiBPerSec * 1024,
    dailyBytes: BigInt(l.dailyMiB) * 1024n * 1024n,
  };
}

export class SettingsError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`invalid settings in ${file}:\n  ${problems.join('\n  ')}`);
    this.name = 'SettingsError';
  }
}

export function formatIssues(err: z.ZodError): string[] {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
}

export function parseSettings(raw: unknown, file = '(settings)'): Settings {
  const r = SettingsSchema.safeParse(raw ?? {});
  if (!r.success) throw new SettingsError(file, formatIssues(r.error));
  return r.data;
}

export function loadSettings(file: string): Settings {
  if (!existsSync(file)) return parseSettings({}, file);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new SettingsError(file, [`not valid JSON: ${(e as Error).message}`]);
  }
  const settings = parseSettings(raw, file);
  // migration: roles written as booleans (before 'auto' existed) are written back as on/off
  const roles = (raw as { roles?: Record<string, unknown> } | null)?.roles;
  if (roles && (typeof roles.relay === 'boolean' || typeof roles.reflector === 'boolean')) {
    try {
      writeAtomic(file, settings);
    } catch {
      /* read-only data dir: the parsed values still hold */
    }
  }
  return settings;
}

function writeAtomic(file: string, s: Settings): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(s, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
}

/** Validate a partial update against the current settings and write atomically. */
export function updateSettings(file: string, patch: Partial<SettingsInput>): Settings {
  const current = loadSettings(file);
  // roles merge field by field: a form that knows only some of them (e.g. the limits) keeps the rest
  const roles = patch.roles
    ? { ...current.roles, ...patch.roles, limits: { ...current.roles.limits, ...patch.roles.limits } }
    : current.roles;
  // the mesh merges the same way (a form that sets the automatic rebroadcaster keeps the upload budget)
  const mesh = patch.mesh
    ? {
        ...current.mesh,
        ...patch.mesh,
        autoRebroadcast: { ...current.mesh.autoRebroadcast, ...patch.mesh.autoRebroadcast },
      }
    : current.mesh;
  const next = parseSettings({ ...current, ...patch, roles, mesh }, file);
  writeAtomic(file, next);
  return next;
}
