// Runs in: main, preload and renderer (pure TypeScript, imports only its own folder).
// The contract's views of the settings (api.ts): roles, relay use, the automatic rebroadcaster.
import type { LamportsString } from './views-trade';

/** 'auto' = serve once this node finds itself publicly reachable; 'on'; 'off'. */
export type RoleMode = 'auto' | 'on' | 'off';

export interface RolesSettings {
  relay: RoleMode;
  reflector: RoleMode;
  limits: {
    /** Peers that may hold a relay reservation at once. */
    maxReservations: number;
    /** Data per relayed connection and direction, MiB. */
    perConnectionMiB: number;
    /** Length of one relayed connection, minutes. */
    perConnectionMinutes: number;
    /** All relayed connections together, KiB/s (0 = no cap). */
    totalKiBPerSec?: number;
    /** All relayed connections together per UTC day, MiB (0 = no budget). */
    dailyMiB?: number;
  };
  /** What this node's relay charges, lamports per minute of a relayed purchase (0 = free). */
  relayPrice?: number;
  /** The most this node pays a relay, lamports per minute (0 = free relays only). */
  maxRelayPrice?: number;
}

/** The relay role's use against its caps (Settings roles.limits.totalKiBPerSec / dailyMiB). */
export interface RelayUseView {
  bytesToday: number;
  /** null = no daily budget */
  dailyCapBytes: number | null;
  /** 5 s average, both directions */
  bytesPerSec: number;
  /** null = no rate cap */
  capBytesPerSec: number | null;
  /** the rate cap holds traffic back now */
  throttled: boolean;
  circuits: number;
  /** reservations/circuits refused today: daily budget spent */
  refused: number;
  /** circuits cut: their peers did not pay the relay */
  cutUnpaid: number;
  /** what the relay charges per minute of a relayed purchase ("0" = free) */
  pricePerMinute: LamportsString;
}

/** One of this node's roles as it stands: the mode, whether it serves now, and why. */
export interface RoleStateView {
  mode: RoleMode;
  active: boolean;
  reason: string;
}

/** The automatic rebroadcaster (docs/mesh.md "Automatic rebroadcasters"): opt-in, off by default. */
export interface AutoRebroadcastSettings {
  enabled: boolean;
  /** What it charges its buyers, in % of the rebroadcast price of the listing it buys (1..1000). */
  pricePercent: number;
  /** Streams it takes at once (1..64). */
  maxStreams: number;
  /** Upload budget of each stream it rebroadcasts, KiB/s. */
  uploadKiBps: number;
  /** Its spending cap per stream taken (lamports). */
  maxLamports: LamportsString;
  /** It stops a stream after this long without a buyer (seconds, 10..86400). */
  idleSec: number;
}

export interface SettingsView {
  cluster: string;
  market: string;
  listenPort: number;
  roles: RolesSettings;
  stunServers: string[];
  startOnLogin: boolean;
  /** Buy without a confirmation when the total at most is ≤ this; '0' = always ask first. */
  oneClickBuyMax: LamportsString;
  uiPort: number;
  dataDir: string;
  /** Start-on-login is an Electron feature; false in the headless UI. */
  canStartOnLogin: boolean;
  /** JSON-RPC endpoint overriding the cluster's (null: the cluster's). An API-key URL kept in the
   *  keychain is shown only as `https://host/…` (rpcKeyed true). */
  rpcUrl: string | null;
  rpcKeyed: boolean;
  /** WebSocket (pubsub) endpoint; null = derived from the RPC URL. */
  rpcWsUrl: string | null;
  /** The most a transaction pays for priority on top of its base fee (lamports). */
  rpcPriorityFeeCap: LamportsString;
  autoRebroadcast: AutoRebroadcastSettings;
}

export interface SettingsPatch {
  cluster?: string;
  market?: string;
  listenPort?: number;
  roles?: RolesSettings;
  stunServers?: string[];
  startOnLogin?: boolean;
  oneClickBuyMax?: LamportsString;
  /** An RPC URL: a plain one goes to settings.json; one carrying an API key (`?…` or `user@`) goes
   *  to the OS keychain (a 0600 file where none exists), never to settings.json. null = none of both. */
  rpcUrl?: string | null;
  rpcWsUrl?: string | null;
  rpcPriorityFeeCap?: LamportsString;
  autoRebroadcast?: AutoRebroadcastSettings;
}

export interface SettingsResult {
  settings: SettingsView;
  /** Changes that take effect only after a restart. */
  restartRequired: boolean;
}
