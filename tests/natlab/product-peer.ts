// Runs in: a NAT lab namespace (Node 22 via tsx). One real Axon node — the AxonNode that `axon sell`
// / `axon buy` start — with DEFAULT settings (no STUN servers, no roles configured, no relays):
// only the ledger's URL is given, as a user joining a shared ledger would. It airdrops itself
// some SOL, then acts as a seller (sells the synthetic aircraft stream), a buyer (buys when told
// on stdin) or a public node that serves whatever roles it takes by itself.
//   args:   --data-dir DIR --rpc URL --role seller|buyer|public [--roles relay,reflector]
//   stdin:  {cmd:'buy', listingId}  {cmd:'attempts'}  {cmd:'path', id}  {cmd:'stop-purchase'}  {cmd:'hangup', address}  {cmd:'stop'}
//   stdout: {event:'ready', address, peerId}  {event:'nat', nat}  {event:'listed', listingId}
//           {event:'listing-seen', listingId}  {event:'bought', requestId}
//           {event:'connection', path, elapsedMs}  {event:'first-frame', ms}  {event:'paid', period, state}
//           {event:'purchase', state, reason}  {event:'attempts', attempts}  {event:'error', error}
//           {event:'path', id, path} (the path to the seller now, answering {cmd:'path', id})
//           {event:'portmap', portMapping} (each change of the router port mapping)
import { createInterface } from 'node:readline';
import { AxonNode } from '../../src-main/core/node';
import { createLogger } from '../../src-main/core/log';
import { addressToPeerId } from '../../src-main/core/identity/identity';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const out = (o: object): void =>
  void process.stdout.write(JSON.stringify(o, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)) + '\n');

const role = arg('role') ?? 'buyer';
const node = await AxonNode.start({
  dataDir: arg('data-dir')!,
  ledger: { rpcUrl: arg('rpc')! },
  log: createLogger({ level: process.env.AXON_LOG_LEVEL ?? 'warn' }),
  endpoint: false,
  // --roles relay,reflector: configured by hand (a comparison run); --birthday '{"maxProbes":50}':
  // a birthday budget (the setting `birthday`); without them: default settings
  ...(arg('roles') || arg('birthday')
    ? {
        settings: {
          ...(arg('roles')
            ? { roles: { relay: arg('roles')!.includes('relay'), reflector: arg('roles')!.includes('reflector') } }
            : {}),
          ...(arg('birthday') ? { birthday: JSON.parse(arg('birthday')!) as object } : {}),
        },
      }
    : {}),
});
out({ event: 'ready', address: node.identity.address, peerId: node.net.peerId.toString() });
node.on('nat', (nat) => out({ event: 'nat', nat }));

// funds (fees, and the buyer's first period)
for (let i = 0; ; i++) {
  try {
    await node.airdrop(2_000_000_000n);
    break;
  } catch (e) {
    if (i >= 5) {
      out({ event: 'error', error: `airdrop: ${(e as Error).message}` });
      break;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
out({ event: 'funded' });

const attemptsOf = (requestId: string | undefined): object[] =>
  node
    .connectAttempts(undefined, 500)
    .filter((a) => requestId === undefined || a.request_id === requestId)
    .map((a) => ({
      method: a.method,
      outcome: a.outcome,
      error: a.error,
      durationMs: a.duration_ms,
      addresses: JSON.parse(a.addresses) as string[],
    }));

if (role === 'seller') {
  const offer = await node.sell({
    streamId: 'aircraft',
    title: 'Aircraft (NAT lab)',
    source: { kind: 'adsb' },
    priceDirect: 6000n,
    periodSec: 30,
  });
  out({ event: 'listed', listingId: `${node.identity.address}:${offer.streamId}` });
  node.on('sale', (s) => out({ event: 'sale', state: s.state, reason: s.reason, buyer: s.buyer }));
  node.on('connection', (c) => out({ event: 'connection', path: c.path, elapsedMs: c.elapsedMs }));
}

let requestId: string | undefined;
let sellerPeer: string | undefined;
let t0 = 0;
let firstFrame = false;
node.on('connection', (c) => {
  if (role === 'buyer' && c.requestId === requestId) out({ event: 'connection', path: c.path, elapsedMs: c.elapsedMs });
});
node.on('frame', (f) => {
  if (f.purchaseId !== requestId || firstFrame) return;
  firstFrame = true;
  out({
    event: 'first-frame',
    ms: Date.now() - t0,
    path: sellerPeer ? node.net.peerStatus(sellerPeer).path?.kind : undefined,
  });
});
node.on('payment', (p) => {
  if (p.requestId === requestId && p.direction === 'out')
    out({ event: 'paid', requestId, period: p.period, state: p.state, ...(p.reason ? { reason: p.reason } : {}) });
});
node.on('purchase', (p) => {
  if (p.id !== requestId) return;
  out({ event: 'purchase', state: p.state, reason: p.reason });
  if (p.state === 'failed' || p.state === 'ended' || p.state === 'rejected')
    out({ event: 'attempts', attempts: attemptsOf(p.id) });
});

async function buy(listingId: string): Promise<void> {
  // the last purchase's late events (its settlement landing after the stop) are not this one's:
  // a 'paid' of the last purchase read as this one's made the connect bench stop a purchase before
  // its own first voucher — which the seller rightly counts as a grace window taken without paying
  requestId = undefined;
  // the catalog fills from the market topic; wait until the listing is in it
  const deadline = Date.now() + 30_000;
  while (!node.listings().some((l) => l.id === listingId)) {
    if (Date.now() > deadline) throw new Error(`listing ${listingId} never seen`);
    await new Promise((r) => setTimeout(r, 100));
  }
  out({ event: 'listing-seen', listingId });
  firstFrame = false;
  sellerPeer = addressToPeerId(listingId.split(':')[0]!).toString();
  t0 = Date.now(); // the user's click
  const row = await node.buy(listingId, { minutes: 2 });
  requestId = row.id;
  out({ event: 'bought', requestId });
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let cmd: { cmd: string; listingId?: string; address?: string; id?: number };
  try {
    cmd = JSON.parse(line) as typeof cmd;
  } catch {
    return;
  }
  if (cmd.cmd === 'buy' && cmd.listingId)
    void buy(cmd.listingId).catch((e) => out({ event: 'error', error: (e as Error).message }));
  else if (cmd.cmd === 'attempts' && requestId) out({ event: 'attempts', attempts: attemptsOf(requestId) });
  // the seller has no purchase of its own: every attempt it made (one sale in a lab pair)
  else if (cmd.cmd === 'attempts') out({ event: 'attempts', attempts: attemptsOf(undefined) });
  else if (cmd.cmd === 'path')
    out({ event: 'path', id: cmd.id, path: sellerPeer ? (node.net.peerStatus(sellerPeer).path?.kind ?? null) : null });
  else if (cmd.cmd === 'stop-purchase' && requestId)
    void node.stopPurchase(requestId).then((p) => out({ event: 'stopped', state: p.state }));
  else if (cmd.cmd === 'hangup' && cmd.address)
    // a benchmark trial starts unconnected: close every connection to that peer
    void node.net.libp2p
      .hangUp(addressToPeerId(cmd.address))
      .catch(() => undefined)
      .then(() => out({ event: 'hung-up' }));
  else if (cmd.cmd === 'stop') void node.shutdown().then(() => process.exit(0));
});
process.on('SIGTERM', () => void node.shutdown().then(() => process.exit(0)));

// the router port mapping (net/portmap.ts): say when it changes
{
  let said = '';
  const t = setInterval(() => {
    const pm = node.status().portMapping;
    const key = `${pm.state} ${pm.protocol ?? ''} ${pm.external?.ip ?? ''}:${pm.external?.port ?? ''}`;
    if (key !== said) out({ event: 'portmap', portMapping: pm });
    said = key;
  }, 500);
  t.unref();
}

if (role === 'public') {
  // a public node takes the relay/reflector roles by itself (default settings): say when it does
  let said = '';
  const t = setInterval(() => {
    const roles = node.net.announcement()?.roles.join(',') ?? '';
    if (roles !== said) out({ event: 'roles', roles: roles ? roles.split(',') : [] });
    said = roles;
  }, 1000);
  t.unref();
}
