// Runs in: Node. A source's raw error (Node's ENOENT, ECONNREFUSED, exit codes) in a seller's
// words: what is wrong and with what. Used for Sell's refusal, the stream's problem and notices.

const RULES: { test: RegExp; say: (m: RegExpMatchArray) => string }[] = [
  { test: /ENOENT[^']*'([^']+)'/, say: (m) => `the file '${m[1]}' does not exist` },
  { test: /ENOENT/, say: () => 'the file or program does not exist' },
  { test: /EACCES[^']*'([^']+)'/, say: (m) => `Axon may not read '${m[1]}' (permission denied)` },
  { test: /EACCES|EPERM/, say: () => 'permission denied' },
  { test: /EISDIR/, say: () => 'the path is a folder, not a file' },
  { test: /ECONNREFUSED\s+([^\s)]+)/, say: (m) => `nothing is listening at ${m[1]}` },
  { test: /ECONNREFUSED/, say: () => 'nothing is listening at that address' },
  { test: /ENOTFOUND\s+(\S+)/, say: (m) => `the host name '${m[1]}' is unknown` },
  {
    test: /EADDRINUSE[^\d]*(\d+)?/,
    say: (m) => `the port${m[1] ? ' ' + m[1] : ''} is already in use by another program`,
  },
  { test: /ETIMEDOUT|timed? ?out/i, say: () => 'the source did not answer in time' },
  { test: /command exited \(code 127\)/, say: () => 'the command was not found' },
  { test: /command exited \(code 126\)/, say: () => 'the command is not executable' },
  { test: /command exited \((code \d+|[A-Z]+)\)/, say: (m) => `the command ended (${m[1]}) instead of streaming` },
  { test: /tcp (\S+) closed/, say: (m) => `the TCP source at ${m[1]} closed the connection` },
  { test: /websocket closed \((\d+)\)/, say: (m) => `the WebSocket source closed (code ${m[1]})` },
  { test: /Unexpected server response: (\d+)/, say: (m) => `the WebSocket server answered HTTP ${m[1]}` },
  { test: /(\S+) disappeared/, say: (m) => `the file ${m[1]} was removed` },
];

/** The raw error of a source in plain words (the raw text is kept only when no rule knows it). */
export function sourceProblemInWords(raw: string | null | undefined): string | null {
  if (!raw) return null;
  for (const r of RULES) {
    const m = raw.match(r.test);
    if (m) return r.say(m);
  }
  return raw;
}
