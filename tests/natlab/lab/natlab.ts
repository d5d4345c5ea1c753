// Runs in: Node 22, as root on Linux (network namespaces). The NAT lab topology: an "internet"
// namespace routing between public hosts and NAT routers, LAN hosts behind the routers.
//
//   <name>-inet        router of the "public internet"; link pN ↔ site N (198.18.N.0/24)
//   public host X      <name>-X, eth0 = 198.18.N.2 (+ .3, .4 … extra addresses), default via .1
//   NAT router R       <name>-R, wan = 198.18.N.2, bridge lan = 10.M.0.1/24, nft rules (nat-rules.ts)
//   LAN host Y         <name>-Y, eth0 = 10.M.0.K (K ≥ 2) on R's bridge, default via 10.M.0.1
//
// Only 198.18.0.0/15 (RFC 2544 benchmark range), 10.0.0.0/8 and — for port-mapping routers, whose
// miniupnpd refuses a reserved WAN address — 198.20.N.0/24 are used, only inside namespaces
// the lab creates. veth pairs are created directly inside their namespaces: the root namespace's
// links, routes and firewall are never touched. See docs/natlab.md.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { checkAvailability, netemAvailable } from './availability';
import { NODE_BIN, REPO_ROOT, TSX_CLI, labPath, nsRun, nsScript, run, sleep } from './exec';
import { natRuleset } from './nat-rules';
import { startMiniupnpd } from './miniupnpd';
import { LabProcess, type SpawnOptions } from './process';
import {
  claimLabName,
  labTmpDir,
  deleteNamespaceSync,
  labNamespaces,
  registerLiveLab,
  releaseLabName,
  unregisterLiveLab,
} from './teardown';
import type {
  Availability,
  LabHost,
  LanHost,
  LedgerServer,
  PublicHost,
  Router,
  RouterOptions,
  StunServer,
} from './types';

const NAME_RE = /^[a-z][a-z0-9]{0,9}$/;
const HOST_RE = /^[a-z][a-z0-9]{0,14}$/;

export class NatLab {
  readonly name: string;
  /** Namespace of the "public internet" router. */
  readonly inetNs: string;
  /** A scratch directory for this lab (removed by destroy). */
  readonly tmpDir: string;
  private readonly hostsByName = new Map<string, LabHost>();
  private readonly processes = new Set<LabProcess>();
  private nextSite = 1;
  private nextLan = 1;
  private readonly lanHostCount = new Map<string, number>();
  /** Per host: the far end of its uplink (namespace, interface), for setOnline(). */
  private readonly uplinks = new Map<string, { ns: string; ifname: string }>();
  private destroying: Promise<void> | null = null;

  private constructor(name: string) {
    this.name = name;
    this.inetNs = `${name}-inet`;
    this.tmpDir = labTmpDir(name);
    rmSync(this.tmpDir, { recursive: true, force: true });
    mkdirSync(this.tmpDir, { recursive: true, mode: 0o700 });
  }

  /** Whether this machine can run the lab; `reason` says plainly why not. */
  static available(): Promise<Availability> {
    return checkAvailability();
  }

  /**
   * Creates an empty lab (just the internet namespace). `name` prefixes every namespace; it must
   * not be used by another live process; leftovers of a crashed run with the same name are removed.
   * Throws with a plain reason when the machine cannot run the lab.
   */
  static async create(opts: { name?: string } = {}): Promise<NatLab> {
    const name = opts.name ?? 'axl';
    if (!NAME_RE.test(name)) throw new Error(`NAT lab name "${name}" must match ${NAME_RE}`);
    const avail = await NatLab.available();
    if (!avail.ok) throw new Error(`NAT lab unavailable: ${avail.reason}`);
    claimLabName(name);
    const lab = new NatLab(name);
    registerLiveLab(name, () => lab.destroySync());
    try {
      await run('ip', ['netns', 'add', lab.inetNs]);
      await nsScript(lab.inetNs, [
        'ip link set lo up',
        'echo 1 > /proc/sys/net/ipv4/ip_forward',
        'echo 0 > /proc/sys/net/ipv4/conf/all/rp_filter',
      ]);
    } catch (err) {
      await lab.destroy();
      throw err;
    }
    return lab;
  }

  /** Every host, router and LAN host created so far. */
  get hosts(): LabHost[] {
    return [...this.hostsByName.values()];
  }

  host(name: string): LabHost {
    const h = this.hostsByName.get(name);
    if (!h) throw new Error(`no lab host "${name}"`);
    return h;
  }

  /** A host with public address(es) on the internet. `addresses` > 1 adds .3, .4 … on eth0. */
  async publicHost(name: string, opts: { addresses?: number; delayMs?: number } = {}): Promise<PublicHost> {
    const count = opts.addresses ?? 1;
    if (count < 1 || count > 8) throw new Error('publicHost: addresses must be 1..8');
    const { ns, site } = await this.attachToInternet(name, 'eth0', opts.delayMs ?? 0);
    const ips = Array.from({ length: count }, (_, i) => `198.18.${site}.${i + 2}`);
    await nsScript(ns, [
      'ip link set lo up',
      ...ips.map((ip) => `ip addr add ${ip}/24 dev eth0`),
      'ip link set eth0 up',
      `ip route add default via 198.18.${site}.1`,
    ]);
    const host: PublicHost = { name, ns, ip: ips[0]!, ips, kind: 'public' };
    this.hostsByName.set(name, host);
    return host;
  }

  /** A NAT router: WAN on the internet, a LAN bridge for hostBehind(). */
  async router(name: string, opts: RouterOptions): Promise<Router> {
    const delayMs = opts.delayMs ?? 0;
    const { ns, site } = await this.attachToInternet(name, 'wan', delayMs);
    const lan = this.nextLan++;
    if (lan > 250) throw new Error('too many routers');
    const lanPrefix = opts.lanPrefix ?? `10.${lan}.0`;
    if (
      !/^(10|192\.168|172\.(1[6-9]|2\d|3[01]))\.\d{1,3}(\.\d{1,3})?$/.test(lanPrefix) ||
      lanPrefix.split('.').length !== 3
    ) {
      throw new Error(`lanPrefix "${lanPrefix}" must be three octets of a private range, e.g. '192.168.1'`);
    }
    // a port-mapping router's WAN is outside the reserved ranges miniupnpd refuses (miniupnpd.ts)
    const wanNet = opts.portMapping ? `198.20.${site}` : `198.18.${site}`;
    if (opts.portMapping) await nsScript(this.inetNs, [`ip addr add ${wanNet}.1/24 dev p${site}`]);
    const wanIp = `${wanNet}.2`;
    const lanIp = `${lanPrefix}.1`;
    await nsScript(ns, [
      'ip link set lo up',
      `ip addr add ${wanIp}/24 dev wan`,
      'ip link set wan up',
      `ip route add default via ${wanNet}.1`,
      'ip link add name lan type bridge',
      `ip addr add ${lanIp}/24 dev lan`,
      'ip link set lan up',
      'echo 1 > /proc/sys/net/ipv4/ip_forward',
      'echo 0 > /proc/sys/net/ipv4/conf/all/rp_filter',
    ]);
    await nsRun(ns, 'nft', ['-f', '-'], { input: natRuleset(opts.kind, { portMapping: !!opts.portMapping }) });
    const router: Router = {
      name,
      ns,
      ip: wanIp,
      kind: 'router',
      nat: opts.kind,
      wanIp,
      lanIp,
      lanSubnet: `${lanPrefix}.0/24`,
      delayMs,
    };
    this.hostsByName.set(name, router);
    if (opts.portMapping) {
      const pm = opts.portMapping === true ? {} : opts.portMapping;
      router.miniupnpd = await startMiniupnpd(
        router,
        this.tmpDir,
        (cmd, args, label) => this.spawn(router, cmd, args, { label }),
        pm,
      );
    }
    return router;
  }

  /** A host on `router`'s LAN (10.M.0.K), reaching the internet only through the router's NAT. */
  async hostBehind(router: Router, name: string): Promise<LanHost> {
    this.checkNewName(name);
    const k = (this.lanHostCount.get(router.name) ?? 0) + 1;
    if (k > 200) throw new Error('too many hosts behind one router');
    this.lanHostCount.set(router.name, k);
    const ns = `${this.name}-${name}`;
    const prefix = router.lanIp.replace(/\.1$/, '');
    const ip = `${prefix}.${k + 1}`;
    await run('ip', ['netns', 'add', ns]);
    await run('ip', [
      'link',
      'add',
      'name',
      `h${k}`,
      'netns',
      router.ns,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      ns,
    ]);
    await nsScript(router.ns, [`ip link set h${k} master lan`, `ip link set h${k} up`]);
    this.uplinks.set(name, { ns: router.ns, ifname: `h${k}` });
    await nsScript(ns, [
      'ip link set lo up',
      `ip addr add ${ip}/24 dev eth0`,
      'ip link set eth0 up',
      `ip route add default via ${router.lanIp}`,
    ]);
    const host: LanHost = { name, ns, ip, kind: 'lan', router };
    this.hostsByName.set(name, host);
    return host;
  }

  /**
   * coturn as a STUN-only server on a public host with two addresses, so it answers RFC 5780's
   * mapping and filtering tests (CHANGE-REQUEST, OTHER-ADDRESS).
   */
  async startStun(opts: { name?: string; port?: number; altPort?: number } = {}): Promise<StunServer> {
    const port = opts.port ?? 3478;
    const altPort = opts.altPort ?? port + 1;
    const host = await this.publicHost(opts.name ?? 'stun', { addresses: 2 });
    const [ip, altIp] = host.ips as [string, string];
    const dir = join(this.tmpDir, `coturn-${host.name}`);
    const args = [
      '-n',
      '--stun-only',
      '-L',
      ip,
      '-L',
      altIp,
      '-p',
      String(port),
      '--alt-listening-port',
      String(altPort),
      '--no-cli',
      '--no-tls',
      '--no-dtls',
      '--no-tcp',
      '--userdb',
      `${dir}.db`,
      '--pidfile',
      `${dir}.pid`,
      '--log-file',
      'stdout',
      '--simple-log',
    ];
    const proc = this.spawn(host, 'turnserver', args, {
      label: `${host.name}:turnserver`,
    });
    await this.waitForUdpListeners(
      host,
      [`${ip}:${port}`, `${altIp}:${port}`, `${ip}:${altPort}`, `${altIp}:${altPort}`],
      proc,
    );
    return {
      host,
      ip,
      altIp,
      port,
      altPort,
      primary: `${ip}:${port}`,
      alternate: `${altIp}:${altPort}`,
      url: `stun:${ip}:${port}`,
      process: proc,
    };
  }

  /**
   * The project's local ledger (src-main/local-ledger/main.ts) on a public host (default
   * name 'ledger'), listening on the host's address: RPC on `port`, WebSocket on the next port.
   */
  async startLedger(opts: { name?: string; port?: number; slotMs?: number } = {}): Promise<LedgerServer> {
    const host = await this.publicHost(opts.name ?? 'ledger');
    const dataDir = join(this.tmpDir, `ledger-${host.name}`);
    const args = ['--data-dir', dataDir, '--host', host.ip, '--port', String(opts.port ?? 8899)];
    if (opts.slotMs !== undefined) args.push('--slot-ms', String(opts.slotMs));
    const proc = this.spawnNode(host, join(REPO_ROOT, 'src-main/local-ledger/main.ts'), args);
    const ready = await proc.waitForJson<{ rpcUrl: string; wsUrl: string }>((o) => 'rpcUrl' in o, 60_000);
    return { host, rpcUrl: ready.rpcUrl, wsUrl: ready.wsUrl, process: proc };
  }

  /** Starts `cmd args` inside `host`'s namespace. Killed by destroy() if still running. */
  spawn(host: LabHost, cmd: string, args: string[] = [], opts: SpawnOptions = {}): LabProcess {
    if (this.destroying) throw new Error(`lab ${this.name} is destroyed`);
    const env = { ...process.env, PATH: labPath(), ...opts.env };
    const proc = new LabProcess(host.ns, [cmd, ...args], env, {
      cwd: REPO_ROOT,
      ...opts,
    });
    this.processes.add(proc);
    void proc.exited.then(() => this.processes.delete(proc));
    return proc;
  }

  /** Runs a script with the project's Node 22 inside `host`: `.ts` files through tsx. */
  spawnNode(host: LabHost, script: string, args: string[] = [], opts: SpawnOptions = {}): LabProcess {
    const argv = script.endsWith('.ts') ? [TSX_CLI, script, ...args] : [script, ...args];
    return this.spawn(host, NODE_BIN, argv, {
      label: `${host.name}:${script.split('/').pop()}`,
      ...opts,
    });
  }

  /** Runs a command to completion inside `host`; resolves with stdout, rejects with stderr. */
  exec(host: LabHost, cmd: string, args: string[] = []): Promise<string> {
    return nsRun(host.ns, cmd, args);
  }

  /**
   * Unplugs (false) or replugs (true) `host`'s cable: the link from the internet (public hosts,
   * routers — a router takes its whole LAN offline) or from its router's LAN bridge (LAN hosts).
   * Addresses, routes and the NAT's conntrack state are kept, as when a cable is pulled.
   */
  async setOnline(host: LabHost, online: boolean): Promise<void> {
    const up = this.uplinks.get(host.name);
    if (!up) throw new Error(`no lab host "${host.name}"`);
    await nsRun(up.ns, 'ip', ['link', 'set', up.ifname, online ? 'up' : 'down']);
  }

  /** A readable summary of the topology (for logs and failure messages). */
  describe(): string {
    return this.hosts
      .map((h) => {
        if (h.kind === 'router') {
          const r = h as Router;
          return `${r.name} [router ${r.nat}${r.delayMs ? ` +${r.delayMs}ms` : ''}] wan ${r.wanIp} lan ${r.lanSubnet}`;
        }
        if (h.kind === 'lan') return `${h.name} [lan] ${h.ip} behind ${(h as LanHost).router.name}`;
        return `${h.name} [public] ${(h as PublicHost).ips.join(', ')}`;
      })
      .join('\n');
  }

  /** Kills every process, deletes every namespace of this lab. Idempotent. */
  destroy(): Promise<void> {
    this.destroying ??= (async () => {
      await Promise.all([...this.processes].map((p) => p.kill('SIGTERM', 1_000)));
      this.destroySync();
    })();
    return this.destroying;
  }

  private destroySync(): void {
    for (const p of this.processes) p.child.kill('SIGKILL');
    this.processes.clear();
    for (const ns of labNamespaces(this.name)) deleteNamespaceSync(ns);
    rmSync(this.tmpDir, { recursive: true, force: true });
    unregisterLiveLab(this.name);
    releaseLabName(this.name);
  }

  private checkNewName(name: string): void {
    if (!HOST_RE.test(name)) throw new Error(`lab host name "${name}" must match ${HOST_RE}`);
    if (name === 'inet' || this.hostsByName.has(name)) throw new Error(`lab host name "${name}" is taken`);
    if (this.destroying) throw new Error(`lab ${this.name} is destroyed`);
  }

  /**
   * Creates namespace `<lab>-<name>` linked to the internet namespace as site N (198.18.N.0/24)
   * through interface `ifname`. With `delayMs`, packets leaving `ifname` towards the internet wait
   * that long (one way, as `tc netem` on the interface's egress would): netem where the kernel has
   * it, else a userspace TAP wire (fixtures/tap-wire.py, python3) in place of the veth pair.
   */
  private async attachToInternet(name: string, ifname: string, delayMs: number): Promise<{ ns: string; site: number }> {
    this.checkNewName(name);
    if (delayMs < 0 || delayMs > 10_000) throw new Error('delayMs must be 0..10000');
    const site = this.nextSite++;
    if (site > 254) throw new Error('too many internet sites');
    const ns = `${this.name}-${name}`;
    const inetIf = `p${site}`;
    await run('ip', ['netns', 'add', ns]);
    const netem = delayMs > 0 && (await netemAvailable(this.inetNs));
    if (delayMs > 0 && !netem) {
      const wireHost: LabHost = { name: `${name}-wire`, ns, ip: '', kind: 'public' };
      const wire = this.spawn(wireHost, PYTHON, [TAP_WIRE, ifname, inetIf, String(delayMs), '0'], {
        label: `${name}:tap-wire`,
      });
      await wire.waitForLine(/^ready$/);
      await nsRun(ns, 'ip', ['link', 'set', inetIf, 'netns', this.inetNs]);
    } else {
      await run('ip', [
        'link',
        'add',
        'name',
        inetIf,
        'netns',
        this.inetNs,
        'type',
        'veth',
        'peer',
        'name',
        ifname,
        'netns',
        ns,
      ]);
      if (netem) await nsRun(ns, 'tc', ['qdisc', 'add', 'dev', ifname, 'root', 'netem', 'delay', `${delayMs}ms`]);
    }
    await nsScript(this.inetNs, [`ip addr add 198.18.${site}.1/24 dev ${inetIf}`, `ip link set ${inetIf} up`]);
    this.uplinks.set(name, { ns: this.inetNs, ifname: inetIf });
    return { ns, site };
  }

  private async waitForUdpListeners(
    host: LabHost,
    endpoints: string[],
    proc: LabProcess,
    timeoutMs = 10_000,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const out = await nsRun(host.ns, 'ss', ['-Hlun']);
      const missing = endpoints.filter((ep) => !out.includes(ep));
      if (missing.length === 0) return;
      if (proc.exit)
        throw new Error(
          `${proc.label} exited ${JSON.stringify(proc.exit)}: ${proc.stderr}${proc.stdoutLines.slice(-10).join('\n')}`,
        );
      if (Date.now() > deadline)
        throw new Error(`${proc.label} not listening on ${missing.join(', ')} after ${timeoutMs} ms`);
      await sleep(100);
    }
  }
}

const TAP_WIRE = join(REPO_ROOT, 'tests/natlab/lab/fixtures/tap-wire.py');
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
