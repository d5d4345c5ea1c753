// Runs in: Node (and Electron main). The stream muxer of every Axon connection: js-libp2p's
// yamux, with one fix to its flow control.
//
// @libp2p/yamux 8 answers EVERY data frame it receives with a WINDOW_UPDATE frame (its
// `sendWindowUpdate` sends whenever any of the receive window has been used). For a live stream of
// small frames that doubles the traffic in messages: each 1 KiB frame to a buyer comes back as a
// 12-byte update, and each of those costs a Noise encryption, a socket write and, on the seller, a
// read, a decryption and a parse. With 200 buyers at 10 Hz that was 2 000 extra messages a second
// through the seller. go-yamux, rust-yamux and py-libp2p send the update only once half of the
// window has been used ("50 % hysteresis"). patches/@libp2p+yamux+8.0.3.patch adds that as a
// stream option, `windowUpdateHysteresis` (off by default, so the patched package behaves as stock
// unless asked); this module turns it on. The wire format is unchanged, so peers running stock
// js-yamux (or any other yamux) interoperate: the sender still always has at least half a window
// of credit, and a full window still triggers the update at once. docs/net.md ("Muxer") has the
// measurements; tests/integration/net-stack.test.ts fails if the patch stops taking effect.
import { yamux } from '@libp2p/yamux';

/**
 * Largest yamux data frame: its 12-byte header plus the data fill exactly one Noise transport
 * message (65535 bytes less the 16-byte tag). js-yamux's default of 64 KiB of data makes every
 * full frame two Noise messages, the second 29 bytes long: two encryptions, two length prefixes.
 */
export const YAMUX_MAX_MESSAGE = 65535 - 16 - 12;

/** The muxer factory used by every Axon node (`windowUpdateHysteresis: false` only for benchmarks). */
export function axonYamux(o: { windowUpdateHysteresis?: boolean } = {}): ReturnType<typeof yamux> {
  return yamux({
    maxMessageSize: YAMUX_MAX_MESSAGE,
    streamOptions: { windowUpdateHysteresis: o.windowUpdateHysteresis ?? true },
  });
}
