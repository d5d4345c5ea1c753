// Runs in: Node (and Electron main). The TCP transport of every Axon node: js-libp2p's TCP, with
// the socket writes of one message gathered into one system call.
//
// @libp2p/tcp hands each buffer of a message to `socket.write` on its own. A Noise transport
// message is at least two buffers (its 2-byte length and the ciphertext, which Node's cipher
// returns in parts), so every message the muxer sends became two to five write(2) calls on the
// socket. patches/@libp2p+tcp+11.0.28.patch adds the option `coalesceWrites`: the connection
// corks its socket for the duration of one `sendData` call and uncorks it at the end, so Node
// issues the buffers as ONE writev(2). The bytes on the wire are identical. Together with
// net/muxer.ts it halved the seller's CPU for 200 buyers of a 10 Hz stream in
// `npm run bench -- stream` (docs/net.md has the figures). Relayed and WebRTC connections are not
// TCP sockets and are left as they are.
import { tcp } from '@libp2p/tcp';

/** The TCP transport used by every Axon node (`coalesceWrites: false` only for benchmarks). */
export function axonTcp(o: { coalesceWrites?: boolean } = {}): ReturnType<typeof tcp> {
  return tcp({ coalesceWrites: o.coalesceWrites ?? true });
}
