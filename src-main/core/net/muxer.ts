// Runs in: Node (and Electron main). The stream muxer of every Axon connection: js-libp2p's
// yamux, with one fix to its flow control.
//
// @libp2p/yamux 8 answers EVERY data frame it receives with a WINDOW_UPDATE frame (its
// `sendWindowUpdate` sends whenever any of the receive window has been used). For a live stream of
// small frames that doubles the traffic in messages: each 1 KiB frame to a buyer comes back as a
// 12-byte update, and each of those costs a Noise encryption, a socket write and, on the seller, a
// read, a decryption and a parse. With 200 buyers at 10 Hz that was 2 000 extra messages a second
// through the seller. go-yamux, rust-yamux and py-libp2p send the update only once half of the
// window has been used ("50 % hysteresis"); `applyWindowHysteresis` makes js-yamux do the same.
// The wire format is unchanged, so peers running stock js-yamux (or any other yamux) interoperate:
// the sender still always has at least half a window of credit, and a full window still triggers
// the update at once. SYN/ACK flags and the window auto-tuning of the original are kept by calling
// the original method whenever an update is due. docs/net.md ("Muxer") has the measurements.
import { yamux } from '@libp2p/yamux';
import { StreamState, YamuxStream } from '@libp2p/yamux/stream';

interface YamuxInternals {
  state: StreamState;
  recvWindow: number;
  recvWindowCapacity: number;
}

let applied = false;
let enabled = true;

/** For benchmarks only: compare against stock behaviour in the same process (default on). */
export function setWindowHysteresis(on: boolean): void {
  applyWindowHysteresis();
  enabled = on;
}

/** Process-wide counters: window updates due (sent through the original) and deferred. */
export const windowUpdateStats = { due: 0, deferred: 0 };

/** Patch YamuxStream once (idempotent): window updates only after half the window is used. */
export function applyWindowHysteresis(): void {
  if (applied) return;
  applied = true;
  const original = YamuxStream.prototype.sendWindowUpdate;
  YamuxStream.prototype.sendWindowUpdate = function sendWindowUpdateWithHysteresis(this: YamuxStream): void {
    const s = this as unknown as YamuxInternals;
    // a pending SYN/ACK must go out now, and Paused keeps the original's bookkeeping
    const flagsPending = s.state === StreamState.Init || s.state === StreamState.SYNReceived;
    if (enabled && !flagsPending && s.state !== StreamState.Paused && s.recvWindowCapacity * 2 > s.recvWindow) {
      windowUpdateStats.deferred++;
      return;
    }
    windowUpdateStats.due++;
    original.call(this);
  };
}

/**
 * Largest yamux data frame: its 12-byte header plus the data fill exactly one Noise transport
 * message (65535 bytes less the 16-byte tag). js-yamux's default of 64 KiB of data makes every
 * full frame two Noise messages, the second 29 bytes long: two encryptions, two length prefixes.
 */
export const YAMUX_MAX_MESSAGE = 65535 - 16 - 12;

/** The muxer factory used by every Axon node. */
export function axonYamux(): ReturnType<typeof yamux> {
  applyWindowHysteresis();
  return yamux({ maxMessageSize: YAMUX_MAX_MESSAGE });
}
