// Runs in: Node (and Electron main). Waiting until a libp2p stream can take more data.
//
// js-libp2p 3's `stream.onDrain()` (@libp2p/utils 7.4 AbstractMessageStream) creates its promise
// once and never replaces it: after the first 'drain' every later `await onDrain()` resolves at
// once, even while `writableNeedsDrain` is true again. And a muxer passes its connection's
// 'drain' on to all of its streams, so one drain event does not mean that THIS stream's window
// is open. A sender that trusts either keeps handing data to a blocked stream, where it piles up
// in libp2p's write buffer: for the stream server that meant a stalled buyer's frames bypassed
// its bounded drop-oldest queue. `waitForDrain` listens for fresh 'drain' events until the stream
// really is writable (or closes).
import type { Stream } from '@libp2p/interface';

type DrainTarget = Pick<Stream, 'writableNeedsDrain' | 'addEventListener' | 'removeEventListener' | 'status'>;

/** Resolve once `stream.writableNeedsDrain` is false; reject if the stream closes first. */
export async function waitForDrain(stream: DrainTarget, signal?: AbortSignal): Promise<void> {
  while (stream.writableNeedsDrain) {
    if (stream.status !== 'open') throw new Error(`stream is ${stream.status}`);
    signal?.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const cleanup = (): void => {
        stream.removeEventListener('drain', onDrain);
        stream.removeEventListener('close', onClose);
        signal?.removeEventListener('abort', onAbort);
      };
      const onDrain = (): void => {
        cleanup();
        resolve();
      };
      const onClose = (): void => {
        cleanup();
        reject(new Error('stream closed while waiting to send'));
      };
      const onAbort = (): void => {
        cleanup();
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      stream.addEventListener('drain', onDrain);
      stream.addEventListener('close', onClose);
      signal?.addEventListener('abort', onAbort);
    });
    // the stream's own drain listener (registered first) re-queued its send queue as a
    // microtask; let it run, it sets writableNeedsDrain again if the window is still shut
    await Promise.resolve();
  }
}
