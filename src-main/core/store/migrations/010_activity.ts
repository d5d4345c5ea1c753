// Migration 010: the wallet's own activity, reconciled from the ledger (market/activity.ts): every
// transaction that moved this wallet's lamports, with the exact balance change and fee the ledger
// reports, what it was (by its memo and instructions) and the purchase, sale or stream it belongs to.
// The sum of `delta` over the table is the change of the balance since the wallet's first transaction.
export default `
CREATE TABLE wallet_activity (
  signature   TEXT PRIMARY KEY,
  wallet      TEXT NOT NULL,                -- this node's address (a data dir has one identity)
  slot        INTEGER NOT NULL,
  seq         INTEGER NOT NULL,             -- order of arrival (oldest first) for a stable listing
  block_time  INTEGER,                      -- unix ms, when the ledger reports one
  delta       INTEGER NOT NULL,             -- lamports, post − pre balance of this wallet (signed)
  fee         INTEGER NOT NULL,             -- lamports of network fee paid by this wallet (0 if another paid)
  kind        TEXT NOT NULL,                -- payment-out | payment-in | listing | refresh | delist | request |
                                            -- accept | reject | stop | announce | message | airdrop |
                                            -- transfer-in | transfer-out | deposit | refund | failed
  message     TEXT,                         -- the Axon message type in the memo, if any
  request_id  TEXT,                         -- purchase or sale id the message or payment belongs to
  stream_id   TEXT,                         -- own stream a listing message is about
  counterparty TEXT,                        -- the other address of a transfer
  err         TEXT                          -- the ledger's error of a failed transaction (its fee still paid)
) STRICT;
CREATE INDEX wallet_activity_order ON wallet_activity (wallet, seq);
CREATE INDEX wallet_activity_request ON wallet_activity (request_id);
`;
