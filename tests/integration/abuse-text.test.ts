// A stranger's listing whose title and tags carry terminal escape sequences (OSC: set the window
// title, hyperlinks; CSI: colours, clear screen) and control characters, read by the real `axon
// listings` command (a child process) from a real local ledger: the user's terminal gets the
// words, not the escapes (docs/security.md, "Text from strangers").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalLedger } from '../../src-main/local-ledger/index';
import { axonAsync as run, settingsDir, tempDir } from '../helpers/cli';
import { ledgerOnPortPair } from '../helpers/cli-ledger';
import { runCleanups, startNode, waitFor } from './market-helpers';
import { safeText } from '../../src-shared/contract/text';

const SOL = 1_000_000_000n;
// 70 UTF-8 bytes: within the Listing's 80-byte title
const EVIL_TITLE =
  '\u001b]0;owned\u0007\u001b[2J\u001b[31mEvil\u001b[0m \u001b]8;;http://x\u001b\\Weather\u001b]8;;\u001b\\\u009b1A\u0008 feed\u202e';

describe('text from strangers in the terminal', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  let ledger: LocalLedger;

  beforeAll(async () => {
    ledger = await ledgerOnPortPair(tempDir('axon-abuse-text-ledger-'));
    cleanups.push(() => ledger.close());
    const s = await startNode(ledger, { airdrop: SOL });
    cleanups.unshift(s.cleanup);
    await s.node.sell({
      streamId: 'wx',
      title: EVIL_TITLE,
      description: 'line one\nline two \u001b[8mhidden',
      tags: ['\u001b[5mblink'],
      source: { kind: 'weather', hz: 1 },
      priceDirect: 1000n,
    });
    await waitFor(() => s.node.listings({ includeOwn: true }).length > 0, 15_000, 'own listing');
  });
  afterAll(async () => {
    await runCleanups(cleanups);
  });

  it('`axon listings` prints the title without escape sequences or control characters (before the fix: raw)', async () => {
    const dir = settingsDir({ localLedgerPort: ledger.port }, 'axon-abuse-text-');
    const r = await run(['--data-dir', dir, 'listings']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Evil Weather feed');
    // eslint-disable-next-line no-control-regex
    expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    // --json keeps the exact text, escaped by JSON (a program reads it, not a terminal)
    const j = await run(['--data-dir', dir, 'listings', '--json']);
    const rows = JSON.parse(j.stdout) as { title: string }[];
    expect(rows[0]!.title).toBe(EVIL_TITLE);
    // eslint-disable-next-line no-control-regex
    expect(j.stdout.trimEnd()).not.toMatch(/[\u0000-\u001f]/);
  });
});

describe('safeText (the one rule for the CLI and the UI)', () => {
  it('keeps the words and drops escapes, controls and bidi overrides', () => {
    expect(safeText(EVIL_TITLE)).toBe('Evil Weather feed');
    expect(safeText('a\r\nb\tc')).toBe('a b c');
    expect(safeText('café ✈ 東京')).toBe('café ✈ 東京');
    expect(safeText(null)).toBe('');
    expect(safeText('x'.repeat(10), 5)).toBe('xxxx…');
  });
});
