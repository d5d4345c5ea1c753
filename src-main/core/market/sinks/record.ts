// Runs in: Node. The record a buyer-side sink writes for each frame: NDJSON with metadata.
// `data` is the payload as JSON when it is JSON, as text when it is UTF-8, else `b64`.
export interface FrameMeta {
  purchaseId: string;
  listingId: string;
  seller: string;
  streamId: string;
}

export interface FrameRecord extends FrameMeta {
  seq: number;
  /** Source timestamp (unix ms) as the seller stamped it. */
  ts: number;
  receivedAt: number;
  data?: unknown;
  text?: string;
  b64?: string;
}

const dec = new TextDecoder('utf-8', { fatal: true });

export function toRecord(
  meta: FrameMeta,
  f: { seq: number; ts: number; payload: Uint8Array },
  receivedAt = Date.now(),
): FrameRecord {
  const r: FrameRecord = { ...meta, seq: f.seq, ts: f.ts, receivedAt };
  let text: string;
  try {
    text = dec.decode(f.payload);
  } catch {
    r.b64 = Buffer.from(f.payload).toString('base64');
    return r;
  }
  const first = text.trimStart()[0];
  if (first === '{' || first === '[') {
    try {
      r.data = JSON.parse(text);
      return r;
    } catch {
      /* not JSON after all */
    }
  }
  // a CRLF line keeps its '\r' in the frame (raw sinks are byte-exact); the record shows the text
  r.text = text.endsWith('\r') ? text.slice(0, -1) : text;
  return r;
}

export function recordLine(r: FrameRecord): string {
  return JSON.stringify(r) + '\n';
}
