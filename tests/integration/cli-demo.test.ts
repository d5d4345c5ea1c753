// `axon demo --seconds N`: a local ledger, a seller and a buyer in one real process — it shows
// frames, the connection path and payments, then stops by itself and exits 0.
import { describe, expect, it } from 'vitest';
import { axonAsync, tempDir } from '../helpers/cli';

describe('axon demo', () => {
  it('streams, shows the path and a verified payment, and exits 0 after --seconds', async () => {
    const dir = tempDir('axon-cli-demo-');
    const r = await axonAsync(['--data-dir', dir, 'demo', '--seconds', '3'], 100_000);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\[buyer\]\s+frame\s+#\d+ \{"now":/);
    expect(r.stdout).toMatch(/\[buyer\]\s+path\s+direct \(LAN\) to seller/);
    expect(r.stdout).toMatch(/\[buyer\]\s+payment\s+period 0: paid 10000 lamports \(0\.00001 SOL\)/);
    expect(r.stdout).toMatch(
      /\[seller\] payment\s+period 0: received 10000 lamports \(0\.00001 SOL\) tx \S+, verified on the ledger/,
    );
    expect(r.stdout).toMatch(/summary\s+\d+ frames received .*purchase ended: stopped by the buyer/);
  });
});
