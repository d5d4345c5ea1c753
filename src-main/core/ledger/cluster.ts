// Runs in: Node. Cluster setting → RPC and pubsub URLs (the same conventions as the Solana CLI:
// the pubsub WebSocket of an http://host:PORT RPC is ws://host:PORT+1 when a port is given).
export type ClusterName = 'local' | 'devnet' | 'mainnet-beta';

export interface ClusterEndpoints {
  name: ClusterName | 'custom';
  rpcUrl: string;
  wsUrl: string;
  /** requestAirdrop may be served there, so it is tried: local, devnet and any custom RPC (a test
   *  validator, a shared local ledger — the RPC itself says when it does not serve it). Not on
   *  mainnet-beta. */
  airdrop: boolean;
}

export const LOCAL_LEDGER_PORT = 8899;

export function resolveCluster(cluster: string, opts: { localPort?: number } = {}): ClusterEndpoints {
  switch (cluster) {
    case 'local': {
      const port = opts.localPort ?? LOCAL_LEDGER_PORT;
      return { name: 'local', rpcUrl: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port + 1}`, airdrop: true };
    }
    case 'devnet':
      return {
        name: 'devnet',
        rpcUrl: 'https://api.devnet.solana.com',
        wsUrl: 'wss://api.devnet.solana.com',
        airdrop: true,
      };
    case 'mainnet-beta':
      return {
        name: 'mainnet-beta',
        rpcUrl: 'https://api.mainnet-beta.solana.com',
        wsUrl: 'wss://api.mainnet-beta.solana.com',
        airdrop: false,
      };
    default:
      return { name: 'custom', rpcUrl: cluster, wsUrl: wsUrlFor(cluster), airdrop: true };
  }
}

/** The pubsub URL of an RPC URL: http→ws, https→wss, explicit port + 1. */
export function wsUrlFor(rpcUrl: string): string {
  let u: URL;
  try {
    u = new URL(rpcUrl);
  } catch {
    throw new Error(`not an RPC URL: ${rpcUrl}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`an RPC URL is http(s), got ${rpcUrl}`);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  if (u.port) u.port = String(Number(u.port) + 1);
  return u.toString().replace(/\/$/, '');
}

/** The endpoint settings: the cluster, and the RPC / WebSocket URLs that override its public ones. */
export interface EndpointSettings {
  cluster: string;
  localLedgerPort?: number;
  rpcUrl?: string | null;
  rpcWsUrl?: string | null;
}

/**
 * Where the ledger is: an RPC URL with an API key (from the keychain) first, then the rpcUrl
 * setting, then the cluster's own endpoint; the WebSocket from rpcWsUrl, else derived from the RPC
 * URL. The cluster's name (and whether it has airdrops) stays the cluster setting's.
 */
export function endpointsFor(s: EndpointSettings, secretUrl?: string | null): ClusterEndpoints & { keyed: boolean } {
  const base = resolveCluster(s.cluster, { localPort: s.localLedgerPort });
  const rpcUrl = secretUrl ?? s.rpcUrl ?? null;
  if (!rpcUrl) return { ...base, ...(s.rpcWsUrl ? { wsUrl: s.rpcWsUrl } : {}), keyed: false };
  return {
    ...base,
    name: base.name === 'local' ? 'custom' : base.name,
    rpcUrl,
    wsUrl: s.rpcWsUrl ?? wsUrlFor(rpcUrl),
    keyed: !!secretUrl,
  };
}
