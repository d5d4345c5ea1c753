// Migration 017 (issue 13): fewer ledger transactions per purchase, and RPC counts that survive a
// restart.
//  - nonce_accounts: the buyer's durable-nonce accounts, kept ACROSS purchases (a pool). A purchase
//    takes a free one (or creates one when none is free: its first voucher), gives it back once
//    its newest voucher settled, and the account is closed (rent back) only when it has been idle
//    for a day, or when it held a voucher the seller never settled (docs/market.md "Vouchers").
//    The accounts of purchases made before this migration stay with their purchase (closed at
//    its end, as before).
//  - rpc_health: what the pacer held back (this run and in all) and the 429s in all, so `axon
//    status` shows them after a restart (docs/net.md / docs/market.md).
export default `
CREATE TABLE nonce_accounts (
  address      TEXT PRIMARY KEY,
  rent         INTEGER NOT NULL,            -- lamports locked in it (back at the close)
  created_at   INTEGER NOT NULL,            -- unix ms
  created_by   TEXT NOT NULL,               -- the purchase whose first voucher created it
  in_use_by    TEXT,                        -- the purchase signing against it now (NULL: free)
  last_used_by TEXT,                        -- the last purchase that used it (the close's fee is booked there)
  released_at  INTEGER,                     -- unix ms it last became free
  closed_at    INTEGER                      -- unix ms it was closed (rent back); NULL: open
) STRICT;
CREATE UNIQUE INDEX nonce_accounts_in_use ON nonce_accounts (in_use_by) WHERE in_use_by IS NOT NULL;
ALTER TABLE rpc_health ADD COLUMN paced INTEGER NOT NULL DEFAULT 0;           -- requests the pacer held back, this run
ALTER TABLE rpc_health ADD COLUMN waited_ms INTEGER NOT NULL DEFAULT 0;       -- ms they waited, this run
ALTER TABLE rpc_health ADD COLUMN limited_total INTEGER NOT NULL DEFAULT 0;   -- 429 answers, all runs
ALTER TABLE rpc_health ADD COLUMN paced_total INTEGER NOT NULL DEFAULT 0;     -- requests held back, all runs
ALTER TABLE rpc_health ADD COLUMN waited_total_ms INTEGER NOT NULL DEFAULT 0; -- ms waited, all runs
`;
