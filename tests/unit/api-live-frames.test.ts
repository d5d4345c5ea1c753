// The UI's frames: binary payloads (a Beast frame) also come as hex for the raw view; text does not.
import { describe, expect, it } from 'vitest';
import { FrameLog } from '../../src-main/api/live';

describe('frames for the live view', () => {
  it('a binary frame carries its first 256 bytes as hex; a text frame none', () => {
    const log = new FrameLog();
    const beast = Uint8Array.from([0x1a, 0x33, 0x1a, 0x1a, 0x00, 0xff, 0x8d, 0x48, 0x40, 0xd6]);
    log.add({ purchaseId: 'p1', seq: 1, ts: 1, payload: beast });
    log.add({ purchaseId: 'p1', seq: 2, ts: 2, payload: new TextEncoder().encode('{"temp_c":21.5}') });
    log.add({ purchaseId: 'p1', seq: 3, ts: 3, payload: new Uint8Array(1000).fill(0xfe) });
    const [b, t, big] = log.drain();
    expect(b!.hex).toBe('1a331a1a00ff8d4840d6');
    expect(t!.hex).toBeUndefined();
    expect(big!.hex).toHaveLength(512);
  });
});
