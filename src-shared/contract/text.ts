// Runs in: Node (CLI) and the renderer. Text that came from a stranger (listing titles,
// descriptions, tags, formats, reasons, peer errors) made safe to show: terminal escape sequences
// (CSI such as colours and cursor moves, OSC such as window titles and hyperlinks, DCS/PM/APC)
// are removed whole, line breaks and tabs become spaces, and every other control character —
// C0, DEL, C1 — and the invisible bidirectional overrides that can reorder what the user reads
// are dropped. The one rule for the CLI (cli/format.ts) and the UI (renderer lib/format.ts).

/* eslint-disable no-control-regex */
const ESCAPE_SEQUENCES =
  /\u001b\[[0-?]*[ -/]*[@-~]|\u009b[0-?]*[ -/]*[@-~]|(?:\u001b\]|\u009d)[^\u0007\u001b\u009c]*(?:\u0007|\u001b\\|\u009c)?|(?:\u001b[PX^_]|[\u0090\u0098\u009e\u009f])[^\u001b\u009c]*(?:\u001b\\|\u009c)?|\u001b[ -/]*[0-~]?/g;
const BREAKS = /[\t\n\v\f\r\u0085\u2028\u2029]+/g;
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
/* eslint-enable no-control-regex */

/** `text` without escape sequences or control characters, on one line, at most `max` characters. */
export function safeText(text: unknown, max = Infinity): string {
  if (text === null || text === undefined) return '';
  const t = String(text).replace(ESCAPE_SEQUENCES, '').replace(BREAKS, ' ').replace(CONTROLS, '');
  return t.length > max ? `${t.slice(0, Math.max(0, max - 1))}…` : t;
}
