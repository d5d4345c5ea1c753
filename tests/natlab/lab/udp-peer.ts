// Runs in: Node (test harness). A typed handle on fixtures/udp-peer.mjs running in a lab host:
// one UDP socket that can send, record what it receives, and answer "observe?" with the
// sender's address as seen by it (a minimal reflector). Used to check what a NAT does.
import { join } from 'node:path';
import { REPO_ROOT, sleep } from './exec';
import type { NatLab } from './natlab';
import type { LabHost } from './types';
import type { LabProcess } from './process';

export const UDP_PEER_SCRIPT = join(REPO_ROOT, 'tests/natlab/lab/fixtures/udp-peer.mjs');

interface PeerEvent {
  event: 'listening' | 'recv' | 'sent' | 'error';
  local?: string;
  from?: string;
  to?: string;
  text?: string;
  message?: string;
}

export class UdpPeer {
  private constructor(
    readonly process: LabProcess,
    /** 'ip:port' the socket is bound to. */
    readonly local: string,
  ) {}

  /** Starts a UDP peer on `host`, bound to `bindIp` (default: host.ip) and `port` (0 = any). */
  static async start(lab: NatLab, host: LabHost, port = 0, bindIp = host.ip): Promise<UdpPeer> {
    const proc = lab.spawnNode(host, UDP_PEER_SCRIPT, [bindIp, String(port)], {
      label: `${host.name}:udp`,
    });
    const ev = await proc.waitForJson<PeerEvent>((e) => e.event === 'listening' || e.event === 'error');
    if (ev.event !== 'listening') throw new Error(`udp peer on ${host.name}: ${ev.message}`);
    return new UdpPeer(proc, ev.local!);
  }

  get port(): number {
    return Number(this.local.split(':')[1]);
  }

  /** Sends one datagram to 'ip:port'. */
  async send(to: string, text: string): Promise<void> {
    const already = this.count((e) => e.event === 'sent');
    this.process.send({ send: to, text });
    await this.process.waitForJson<PeerEvent>(
      (() => {
        let seen = 0;
        return (e) => e.event === 'sent' && ++seen > already;
      })(),
    );
  }

  /**
   * Asks the UDP peer at `target` ('ip:port', running "observe?" replies) which address it sees
   * this socket as. Retries a few times (UDP); rejects if no answer comes.
   */
  async observe(target: string, tries = 5, waitMs = 400): Promise<string> {
    for (let i = 0; i < tries; i++) {
      const isAnswer = (e: PeerEvent): boolean =>
        e.event === 'recv' && e.from === target && (e.text ?? '').startsWith('{"observed"');
      const before = this.count(isAnswer);
      await this.send(target, 'observe?');
      try {
        let seen = 0;
        const ev = await this.process.waitForJson<PeerEvent>((e) => isAnswer(e) && ++seen > before, waitMs);
        return (JSON.parse(ev.text!) as { observed: string }).observed;
      } catch {
        /* retry */
      }
    }
    throw new Error(`${this.process.label}: no "observed" answer from ${target} after ${tries} tries`);
  }

  /** Texts received so far from `from` (any sender if omitted). */
  received(from?: string): string[] {
    return this.process
      .jsonSoFar<PeerEvent>()
      .filter((e) => e.event === 'recv' && (from === undefined || e.from === from))
      .map((e) => e.text ?? '');
  }

  /** Waits until a datagram with `text` arrives; false after `timeoutMs` (for "must not arrive"). */
  async waitForText(text: string, timeoutMs = 1_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.received().includes(text)) return true;
      await sleep(25);
    }
    return this.received().includes(text);
  }

  stop(): Promise<unknown> {
    return this.process.kill();
  }

  private count(pred: (e: PeerEvent) => boolean): number {
    return this.process.jsonSoFar<PeerEvent>().filter(pred).length;
  }
}
