// Runs in: Node. The UDP ports around an ICE agent (ice-punch.ts): the responder's low-TTL opening
// packet from the agent's future port, and waiting until a port can be bound again.
import { createSocket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import type { IceCandidateInfo } from './connect-info';
import { isLanIp } from './addresses';

/** Making an ICE agent failed (native peer connection, certificate, port): the round's outcome. */
export class IceAgentError extends Error {
  override name = 'IceAgentError';
}

/** TTL of the responder's opening packet: past its own router (one hop), dead at the next. */
export const PRE_PUNCH_TTL = 2;

/** The initiator's candidates a packet from here reaches only through our NAT: public IPv4. */
export function openingTargets(candidates: IceCandidateInfo[]): IceCandidateInfo[] {
  return candidates.filter((c) => isIPv4(c.ip) && !isLanIp(c.ip) && c.type !== 'relay');
}

/**
 * Send one PRE_PUNCH_TTL packet to each target from a fresh UDP port and free the port again;
 * resolves with the port (the responder's ICE agent binds it next). The packet makes our NAT map
 * port → target before any packet of the peer's can arrive, and expires before the peer's router.
 */
export async function openingPacket(targets: IceCandidateInfo[]): Promise<number> {
  const sock = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, () => resolve());
    });
    const { port } = sock.address();
    if (targets.length > 0) sock.setTTL(PRE_PUNCH_TTL);
    for (const t of targets) {
      // one zero byte: neither STUN nor DTLS to anyone it might still reach
      await new Promise<void>((resolve) => sock.send(new Uint8Array(1), t.port, t.ip, () => resolve()));
    }
    return port;
  } finally {
    await new Promise<void>((resolve) => sock.close(() => resolve()));
  }
}

/**
 * Resolve once `port` can be bound (UDP, IPv4): retried for up to 1 s while it is still in use (the
 * probe sockets, closed just before, are freed by libuv); rejects with IceAgentError otherwise.
 */
export async function portFree(port: number): Promise<void> {
  for (let i = 0; ; i++) {
    const sock = createSocket('udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(port, () => resolve());
      });
      await new Promise<void>((resolve) => sock.close(() => resolve()));
      return;
    } catch (err) {
      sock.removeAllListeners();
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || i >= 20)
        throw new IceAgentError(`the ICE agent could not be made: port ${port}: ${(err as Error).message}`, {
          cause: err,
        });
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
