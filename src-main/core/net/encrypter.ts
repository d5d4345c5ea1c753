// Runs in: Node (and Electron main). The connection encrypter of every Axon node: js-libp2p's
// Noise, with the TCP socket's writes gathered into one system call per message.
//
// @libp2p/tcp hands each buffer of a message to `socket.write` on its own. A Noise transport
// message is at least two buffers (its 2-byte length and the ciphertext, which Node's cipher
// returns in parts), so every message the muxer sends became two to five write(2) calls on the
// socket. `coalesceSocketWrites` corks the socket for the duration of one `sendData` call and
// uncorks it at the end: Node then issues the buffers as ONE writev(2). The bytes on the wire are
// identical. Together with net/muxer.ts it halved the seller's CPU for 200 buyers of a 10 Hz
// stream in `npm run bench -- stream` (docs/net.md has the figures).
//
// The hook sits in front of Noise because the upgrader hands the raw transport connection to the
// encrypter, inbound and outbound alike; connections that are not plain TCP sockets (relayed,
// WebRTC) are left as they are.
import { Socket } from 'node:net';
import { noise } from '@libp2p/noise';
import type { ConnectionEncrypter, MessageStream } from '@libp2p/interface';

type SendData = (data: Iterable<Uint8Array> & { byteLength: number }) => unknown;
interface TcpMaConn {
  socket?: unknown;
  sendData?: SendData;
}

const PATCHED = Symbol.for('axon.coalesceSocketWrites');
let enabled = true;

/** For benchmarks only: compare against stock behaviour in the same process (default on). */
export function setWriteCoalescing(on: boolean): void {
  enabled = on;
}

/** Wrap a TCP connection's sendData in cork/uncork (idempotent). Returns whether it applied. */
export function coalesceSocketWrites(connection: MessageStream): boolean {
  const c = connection as unknown as TcpMaConn & { [PATCHED]?: true };
  const socket = c.socket;
  if (!(socket instanceof Socket) || typeof c.sendData !== 'function' || c[PATCHED]) return false;
  const original = c.sendData.bind(c);
  c.sendData = (data) => {
    if (!enabled) return original(data);
    socket.cork();
    try {
      return original(data);
    } finally {
      socket.uncork();
    }
  };
  c[PATCHED] = true;
  return true;
}

/** Noise, with coalesced socket writes on TCP connections. */
export function axonNoise(): ReturnType<typeof noise> {
  const factory = noise();
  return (components) => {
    const enc: ConnectionEncrypter<unknown> = factory(components);
    const inbound = enc.secureInbound.bind(enc);
    const outbound = enc.secureOutbound.bind(enc);
    enc.secureInbound = (connection, options) => {
      coalesceSocketWrites(connection);
      return inbound(connection, options);
    };
    enc.secureOutbound = (connection, options) => {
      coalesceSocketWrites(connection);
      return outbound(connection, options);
    };
    return enc as ReturnType<ReturnType<typeof noise>>;
  };
}
