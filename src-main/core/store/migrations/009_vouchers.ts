// Migration 009: payment vouchers (docs/market.md "Vouchers"). One row per purchase ('out', the
// buyer's nonce account and newest signed voucher) or sale ('in', the newest voucher the seller
// accepted, not yet settled). A voucher is stored BEFORE it is sent / acknowledged, so a kill -9
// of either side loses nothing: the seller settles what it acknowledged, the buyer knows what it
// signed.
export default `
CREATE TABLE vouchers (
  request_id      TEXT NOT NULL,
  direction       TEXT NOT NULL CHECK (direction IN ('in', 'out')),
  nonce_account   TEXT NOT NULL,
  nonce_value     TEXT NOT NULL,              -- the value the next voucher signs against
  period          INTEGER NOT NULL DEFAULT -1, -- the newest voucher pays through this period
  lamports        INTEGER NOT NULL DEFAULT 0,  -- what the newest voucher moves (since the last settlement)
  tx              TEXT,                        -- the newest signed voucher (base64); NULL: nothing unsettled
  signature       TEXT,
  settled_through INTEGER NOT NULL DEFAULT -1,
  settled         INTEGER NOT NULL DEFAULT 0,  -- lamports settled on the ledger
  settlements     INTEGER NOT NULL DEFAULT 0,
  rent            INTEGER NOT NULL DEFAULT 0,  -- buyer: lamports locked in the nonce account
  closed_at       INTEGER,                     -- buyer: nonce account closed (rent back)
  reason          TEXT,                        -- last problem (refusal, failed settlement)
  updated_at      INTEGER NOT NULL,
  PRIMARY KEY (request_id, direction)
);
`;
