// Runs in: Node. User settings: one JSON file in the data directory, validated by a schema.
// A bad file never crashes the app silently: it is reported with the exact field and reason.
import { z } from 'zod';
import { readFileSync, writeFileSync, existsSync, renameSync } from 'node:fs';

export const ClusterSchema = z.union([
  z.enum(['local', 'devnet', 'mainnet-beta']),
  z.url({ protocol: /^https?$/, error: 'cluster must be local, devnet, mainnet-beta or an http(s) RPC URL' }),
]);
export type Cluster = z.infer<typeof ClusterSchema>;

const hostPort = z.string().regex(/^[A-Za-z0-9.\-:[\]]+:\d{1,5}$/, 'expected host:port, e.g. stun.example.org:3478');

export const SettingsSchema = z
  .object({
    cluster: ClusterSchema.default('local'),
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
    roles: z
      .object({ relay: z.boolean().default(false), reflector: z.boolean().default(false) })
      .strict()
      .default({ relay: false, reflector: false }),
    stunServers: z.array(hostPort).default([]),
    startOnLogin: z.boolean().default(false),
    /** Headless UI port on loopback. 0 = pick a free one. */
    uiPort: z.number().int().min(0).max(65535).default(0),
  })
  .strict();
export type Settings = z.infer<typeof SettingsSchema>;

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
  return parseSettings(raw, file);
}

/** Validate a partial update against the current settings and write atomically. */
export function updateSettings(file: string, patch: Partial<Settings>): Settings {
  const next = parseSettings({ ...loadSettings(file), ...patch }, file);
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(next, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
  return next;
}
