// Runs in: Node. `axon preview LISTING [--frames N] [--json]`: a few recent frames of a listing,
// fetched from its seller peer to peer before buying — free, nothing on the ledger, rate-limited
// by the seller (docs/streams.md "Free preview"). Prints what the frames hold (the schema hint)
// and each frame as text, or as hex when it is binary.
import type { CliContext } from '../context';
import { CliError } from '../context';
import { parsePositiveInt, safeText } from '../format';
import { progress } from '../progress';
import { openNode, findListing } from './node-context';
import { PreviewError, PREVIEW_LIMITS, type Preview } from '../../core/market/preview';

export interface PreviewCliOptions {
  frames?: string;
  json?: boolean;
}

/** A frame as one line: its text when it is UTF-8 without control bytes, else hex. */
export function frameLine(payload: Uint8Array): string {
  let text: string | null;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch {
    text = null;
  }
  // eslint-disable-next-line no-control-regex
  if (text !== null && !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text))
    return safeText(text.replace(/\r?\n$/, ''));
  const hex = Buffer.from(payload.subarray(0, 64)).toString('hex').replace(/(..)/g, '$1 ').trim();
  return `hex ${hex}${payload.length > 64 ? ` … (${payload.length} bytes)` : ''}`;
}

export function printPreview(p: Preview, print: (l: string) => void): void {
  print(`format   ${safeText(p.format)}${p.framing ? ` (${p.framing})` : ''}`);
  print(`schema   ${p.schema ? safeText(p.schema) : '(none given; inferred by the live view)'}`);
  if (p.frames.length === 0) print('(no frames yet: the source has not sent anything recently)');
  for (const f of p.frames)
    print(
      `#${f.seq} ${new Date(f.ts).toISOString()}  ${frameLine(f.payload)}${f.truncatedFrom !== undefined ? ` [first ${f.payload.length} of ${f.truncatedFrom} bytes]` : ''}`,
    );
}

export async function previewCommand(ctx: CliContext, listingText: string, o: PreviewCliOptions): Promise<void> {
  const frames = o.frames !== undefined ? parsePositiveInt(o.frames, '--frames', PREVIEW_LIMITS.maxFrames) : undefined;
  const p = progress();
  p.step('starting the node…');
  const opened = await openNode(ctx, { endpoint: false });
  const { node } = opened;
  try {
    const id = await findListing(node, ctx, listingText, p);
    p.step('asking the seller for a preview (peer to peer, free)…');
    const preview = await node.preview(id, frames !== undefined ? { frames } : {}).catch((e: unknown) => {
      if (e instanceof PreviewError) {
        p.fail('no preview');
        throw new CliError(`preview of ${id}: ${e.message}`);
      }
      throw e;
    });
    p.stop();
    if (o.json) {
      console.log(
        JSON.stringify(
          {
            ...preview,
            frames: preview.frames.map((f) => ({
              seq: f.seq,
              ts: f.ts,
              b64: Buffer.from(f.payload).toString('base64'),
              ...(f.truncatedFrom !== undefined ? { truncatedFrom: f.truncatedFrom } : {}),
            })),
          },
          null,
          2,
        ),
      );
      return;
    }
    console.log(`preview  ${id}: ${preview.frames.length} recent frame${preview.frames.length === 1 ? '' : 's'}, free`);
    printPreview(preview, (l) => console.log(l));
  } finally {
    p.stop();
    await opened.close();
  }
}
