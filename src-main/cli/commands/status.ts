// Runs in: Node. `axon status [--json]`: what this installation buys and sells and the peers it
// is (or was last) connected to, with the path of each connection. Read from the node's history
// (SQLite), so it works whether or not a node is running on this data dir (`axon sell`, `buy`).
import { dataDirHolder } from '../../core/lock';
import type { CliContext } from '../context';
import { ago, amount, money, short, table, toJson } from '../format';
import { openLedgerView, ledgerEndpoint } from './node-context';
import { pathText as connectionPathText } from './trade-log';
import { isFinal } from '../../../src-shared/contract/states';
import { portMapLabel } from '../../core/store/portmap';

export async function statusCommand(ctx: CliContext, o: { json?: boolean; all?: boolean }): Promise<void> {
  const view = await openLedgerView(ctx, { needLedger: false });
  try {
    const limit = o.all ? 1000 : 20;
    const offers = view.offers();
    const purchases = view.purchases({ limit });
    const sales = view.sales({ limit });
    const conns = view.connections(undefined, 500);
    // one row per peer: its newest connection
    const peers = new Map<string, (typeof conns)[number]>();
    for (const c of conns) if (!peers.has(c.peer_id)) peers.set(c.peer_id, c);
    // each peer's newest ladder: the steps of its newest connect (one request id), oldest first
    const lastLadder = lastLadders(view.connectAttempts(undefined, 1000));
    const pid = dataDirHolder(ctx.paths.root);
    const ep = ledgerEndpoint(ctx);
    // readers of the local endpoint (`axon buy --serve`) present this token
    const endpointToken = view.endpointToken();
    // this node's relay/reflector roles as the (last) running node kept them; else the settings
    const kept = view.roleStates();
    const roles = (['relay', 'reflector'] as const).map((role) => {
      const k = kept.find((x) => x.role === role);
      const mode = ctx.settings.roles[role];
      const next = k && k.mode !== mode ? ` (settings now say ${mode}: from the next start)` : '';
      return k
        ? { role, mode: k.mode, active: k.active && !!pid, reason: k.reason + next, since: k.updatedAt }
        : {
            role,
            mode,
            active: false,
            reason: mode === 'off' ? 'off in the settings' : 'not started yet',
            since: null,
          };
    });
    const directory = view.roleAnnouncements();
    const nat = view.nat();
    const portMapping = view.portMapping() ?? null;
    // the relay's use against its caps (kept by the running node about once a minute)
    const lim = ctx.settings.roles.limits;
    const used = view.relayUse();
    const relayUse = {
      bytesToday: used?.bytes ?? 0n,
      dailyCapBytes: lim.dailyMiB ? BigInt(lim.dailyMiB) * 1024n * 1024n : null,
      bytesPerSec: pid ? (used?.rate ?? 0) : 0,
      capBytesPerSec: lim.totalKiBPerSec ? lim.totalKiBPerSec * 1024 : null,
      refused: used?.refused ?? 0,
      cutUnpaid: used?.cutUnpaid ?? 0,
      pricePerMinute: BigInt(ctx.settings.roles.relayPrice),
      maxRelayPricePerMinute: BigInt(ctx.settings.roles.maxRelayPrice),
      savedAt: used?.updatedAt ?? null,
    };
    // the automatic rebroadcaster (docs/mesh.md): its settings and the streams it took
    const autoSet = ctx.settings.mesh.autoRebroadcast;
    const autoRebroadcast = { ...autoSet, streams: view.autoRebroadcasts(limit) };
    const rpcRow = view.rpcHealth();
    // the row is the running node's (or the last run's): "rate-limited" only while a node runs
    const rpc = rpcRow
      ? {
          rateLimited: !!pid && rpcRow.rateLimited,
          pausedUntil: pid ? rpcRow.pausedUntil : null,
          limitedCount: rpcRow.limitedCount,
          lastLimitedAt: rpcRow.lastLimitedAt,
          requests: rpcRow.requests,
          byMethod: rpcRow.byMethod,
          updatedAt: rpcRow.updatedAt,
          // what the pacer held back (the last run), and the 429s and waits of every run together
          paced: rpcRow.paced,
          waitedMs: rpcRow.waitedMs,
          limitedTotal: rpcRow.limitedTotal,
          pacedTotal: rpcRow.pacedTotal,
          waitedTotalMs: rpcRow.waitedTotalMs,
        }
      : null;
    if (o.json) {
      console.log(
        toJson({
          address: view.identity.address,
          peerId: view.identity.peerId.toString(),
          dataDir: ctx.paths.root,
          cluster: ctx.settings.cluster,
          rpcUrl: ep.shownUrl,
          rpc,
          runningNodePid: pid,
          endpointToken,
          nat: nat ?? null,
          roles,
          portMapping,
          relayUse,
          autoRebroadcast,
          knownRelays: directory.filter((a) => a.roles.includes('relay')).length,
          knownReflectors: directory.filter((a) => a.roles.includes('reflector')).length,
          offers,
          // each purchase with the path its data takes and the latency each hop adds (docs/mesh.md)
          purchases: purchases.map((p) => ({ ...p, path: view.purchasePath(p) })),
          sales,
          peers: [...peers.values()].map((c) => ({
            peerId: c.peer_id,
            path: c.path,
            relay: c.relay,
            remoteAddr: c.remote_addr,
            open: c.closed_at === null,
            openedAt: c.opened_at,
            closedAt: c.closed_at,
            closeReason: c.close_reason,
            rttMs: c.rtt_ms,
            bytesIn: c.bytes_in,
            bytesOut: c.bytes_out,
            lastAttempts: (lastLadder.get(c.peer_id) ?? []).map((a) => ({
              method: a.method,
              outcome: a.outcome,
              durationMs: a.duration_ms,
              error: a.error,
            })),
          })),
        }),
      );
      return;
    }
    console.log(`address  ${view.identity.address}`);
    console.log(
      `ledger   ${ep.shownUrl}${ep.keyed ? ' (API-key URL from the keychain)' : ''} (${ctx.settings.cluster}), market '${ctx.settings.market}'`,
    );
    console.log(`rpc      ${rpcText(rpc)}`);
    console.log(`node     ${pid ? `running (process ${pid})` : 'not running (showing the history)'}`);
    console.log(
      `local endpoint token  ${endpointToken}  (ws://…/streams/<id>?token=…, or the first line on TCP; in ${ctx.paths.endpointToken})`,
    );
    console.log(`nat      ${natText(nat, !!pid)}`);
    for (const r of roles)
      console.log(
        `${r.role.padEnd(10)}${r.active ? 'serving' : 'not serving'} (${r.mode}): ${r.reason}${
          !pid && r.since ? ` (at the last run, ${ago(r.since)})` : ''
        }`,
      );
    const mib = (b: bigint | number): string => `${(Number(b) / 1048576).toFixed(1)} MiB`;
    console.log(
      `relay use ${mib(relayUse.bytesToday)} today of ${
        relayUse.dailyCapBytes ? mib(relayUse.dailyCapBytes) : 'no daily budget'
      }, ${Math.round(relayUse.bytesPerSec / 1024)} KiB/s of ${
        relayUse.capBytesPerSec ? `${relayUse.capBytesPerSec / 1024} KiB/s` : 'no rate cap'
      }${relayUse.refused ? `, ${relayUse.refused} request(s) refused (budget spent)` : ''}${
        relayUse.cutUnpaid ? `, ${relayUse.cutUnpaid} unpaid circuit(s) cut` : ''
      }; price ${relayUse.pricePerMinute ? `${amount(relayUse.pricePerMinute)}/min` : 'free'}, paying relays up to ${
        relayUse.maxRelayPricePerMinute ? `${amount(relayUse.maxRelayPricePerMinute)}/min` : '0 (free only)'
      }`,
    );
    console.log(
      `port map  ${portMapLabel(portMapping, ctx.settings.portMapping)}${!pid && portMapping ? ' (at the last run)' : ''}`,
    );
    const autoRunning = autoRebroadcast.streams.filter((r) => r.stoppedAt === null);
    console.log(
      `auto rebroadcast ${
        autoSet.enabled
          ? `on (${autoSet.pricePercent} % of the rebroadcast price, up to ${autoSet.maxStreams} stream(s), cap ${amount(
              BigInt(autoSet.maxLamports),
            )} each, stops after ${autoSet.idleSec} s without a buyer; only while the relay serves)`
          : 'off in the settings'
      }${autoRunning.length ? `: ${autoRunning.map((r) => `${r.streamId} of ${short(r.listingId.split(':')[0]!)}:${r.listingId.split(':').slice(1).join(':')}, last buyer ${ago(r.lastBuyerAt)}`).join('; ')}` : ''}`,
    );
    console.log(
      `directory ${directory.filter((a) => a.roles.includes('relay')).length} relay(s), ${
        directory.filter((a) => a.roles.includes('reflector')).length
      } reflector(s) known\n`,
    );

    console.log(`SELLING (${offers.length})`);
    if (offers.length)
      console.log(
        table(
          ['STREAM', 'TITLE', 'DIRECT/min', 'PERIOD', 'CAPACITY', 'STATE'],
          offers.map((x) => [
            x.streamId,
            x.title,
            money(x.priceDirect, x.mint),
            `${x.periodSec} s`,
            String(x.capacity),
            x.paused ? 'paused' : 'listed',
          ]),
        ),
      );
    console.log(`\nPURCHASES (${purchases.length}${purchases.length === limit ? ', newest' : ''})`);
    if (purchases.length)
      console.log(
        table(
          ['ID', 'LISTING', 'TIER', 'STATE', 'PAID THROUGH', 'SPENT', 'FRAMES', 'SINCE', 'REASON'],
          purchases.map((p) => [
            p.id,
            `${short(p.seller)}:${p.streamId}`,
            p.tier,
            p.state,
            p.paidThrough < 0 ? '-' : `period ${p.paidThrough}`,
            money(p.spent, p.mint),
            `${p.frames}${p.dropped ? ` (${p.dropped} dropped)` : ''}`,
            ago(p.createdAt),
            isFinal(p.state) ? (p.reason ?? '') : '',
          ]),
        ),
      );
    // the path each stream's data takes, origin → rebroadcaster(s) → you, with what each hop adds
    const paths = purchases.filter((p) => !isFinal(p.state)).map((p) => [p, view.purchasePath(p)] as const);
    for (const [p, path] of paths) if (path.length) console.log(`  ${p.id} path: ${pathText(path)}`);
    console.log(`\nSALES (${sales.length}${sales.length === limit ? ', newest' : ''})`);
    if (sales.length)
      console.log(
        table(
          ['ID', 'BUYER', 'STREAM', 'TIER', 'STATE', 'PAID THROUGH', 'EARNED', 'FRAMES', 'SINCE', 'REASON'],
          sales.map((s) => [
            s.id,
            short(s.buyer),
            s.streamId,
            s.tier,
            s.state,
            s.paidThrough < 0 ? '-' : `period ${s.paidThrough}`,
            money(s.earned, s.mint),
            `${s.frames}${s.dropped ? ` (${s.dropped} dropped)` : ''}`,
            ago(s.createdAt),
            isFinal(s.state) ? (s.reason ?? '') : '',
          ]),
        ),
      );
    console.log(`\nPEERS (${peers.size})`);
    if (peers.size)
      console.log(
        table(
          ['PEER', 'PATH', 'VIA', 'REMOTE ADDRESS', 'STATE', 'RTT', 'IN/OUT bytes'],
          [...peers.values()].map((c) => [
            short(c.peer_id, 6),
            connectionPathText(c.path),
            c.relay ? short(c.relay, 6) : '-',
            c.remote_addr ?? '-',
            c.closed_at === null
              ? pid
                ? `open since ${ago(c.opened_at)}`
                : 'open (at last run)'
              : `closed ${ago(c.closed_at)}${c.close_reason ? `: ${c.close_reason}` : ''}`,
            c.rtt_ms === null ? '-' : `${c.rtt_ms} ms`,
            `${c.bytes_in}/${c.bytes_out}`,
          ]),
        ),
      );
    // how each peer's newest connect went, step by step (birthday probing, punch, relay, …)
    for (const c of peers.values()) {
      const steps = lastLadder.get(c.peer_id);
      if (steps?.length) console.log(`  ${short(c.peer_id, 6)} last connect: ${steps.map(attemptText).join(' · ')}`);
    }
  } finally {
    await view.close();
  }
}

/** A purchase's path in one line: `origin ABCD…WXYZ → rebroadcaster EFGH…STUV +3 ms → you +2 ms`. */
function pathText(path: ReturnType<Awaited<ReturnType<typeof openLedgerView>>['purchasePath']>): string {
  return path
    .map((h) => {
      const who = h.role === 'you' ? 'you' : `${h.role} ${short(h.node)}`;
      return h.role === 'origin' ? who : `${who} ${h.addsMs === null ? '(measuring…)' : `+${h.addsMs} ms`}`;
    })
    .join(' → ');
}

type Attempt = ReturnType<Awaited<ReturnType<typeof openLedgerView>>['connectAttempts']>[number];

/** Per peer, the attempts of its newest connect (same request id as its newest attempt), in order. */
function lastLadders(newestFirst: Attempt[]): Map<string, Attempt[]> {
  const out = new Map<string, Attempt[]>();
  const req = new Map<string, string | null>();
  for (const a of newestFirst) {
    if (!req.has(a.peer_id)) req.set(a.peer_id, a.request_id);
    if (req.get(a.peer_id) !== a.request_id) continue;
    const list = out.get(a.peer_id) ?? [];
    if (list.length < 12) list.unshift(a);
    out.set(a.peer_id, list);
  }
  return out;
}

/** "birthday ok 3.2 s" / "hole-punch skipped (why)". */
function attemptText(a: Attempt): string {
  const ms = a.duration_ms === null ? '' : ` ${(a.duration_ms / 1000).toFixed(1)} s`;
  return `${a.method} ${a.outcome}${a.outcome === 'ok' ? ms : ''}${a.error && a.outcome !== 'ok' ? ` (${a.error})` : ''}`;
}

/** The NAT verdict in one line: "udp-blocked · relay-only · 198.18.5.2 (2 min ago): <why>". */
function natText(n: ReturnType<Awaited<ReturnType<typeof openLedgerView>>['nat']>, running: boolean): string {
  if (!n) return 'not found out yet (no node has run discovery on this data dir)';
  const fullCone = n.mapping === 'endpoint-independent' && n.filtering === 'endpoint-independent';
  const parts = [fullCone ? 'full cone' : n.mapping, n.reachability, ...(n.publicIp ? [n.publicIp] : [])];
  const why =
    n.mapping === 'udp-blocked' ? `: ${n.warnings.find((w) => /UDP/.test(w)) ?? 'outbound UDP is blocked'}` : '';
  return `${parts.join(' · ')} (${running ? '' : 'at the last run, '}${ago(n.at)})${why}`;
}

function rpcText(
  r: {
    rateLimited: boolean;
    pausedUntil: number | null;
    limitedCount: number;
    lastLimitedAt: number | null;
    requests: number;
    paced: number;
    waitedMs: number;
    limitedTotal: number;
    pacedTotal: number;
    waitedTotalMs: number;
  } | null,
): string {
  if (!r) return 'no node has used it yet';
  const secs = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  // kept across restarts: the 429s and the pacer's waits of every run
  const all =
    r.limitedTotal || r.pacedTotal
      ? `; in all runs ${r.limitedTotal} rate-limited (429)${r.lastLimitedAt ? `, the last ${ago(r.lastLimitedAt)}` : ''}, ${r.pacedTotal} paced (waited ${secs(r.waitedTotalMs)})`
      : '';
  const paced = r.paced ? `, ${r.paced} paced (waited ${secs(r.waitedMs)})` : '';
  if (r.rateLimited)
    return `RPC is rate-limiting us: ${r.limitedCount} answer(s) 429, the last ${ago(r.lastLimitedAt!)}${
      r.pausedUntil ? `; requests wait ${Math.ceil((r.pausedUntil - Date.now()) / 1000)} s more` : ''
    } (use your own endpoint: axon rpc key-url)${all}`;
  return `ok, ${r.requests} request(s)${r.limitedCount ? `, ${r.limitedCount} rate-limited (429)` : ''}${paced}${all}`;
}
