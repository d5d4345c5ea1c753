// Migration 007: priced relays and the relay's total use. A relay's price is kept with its
// announcement (the directory survives restarts with it); the relay shares of payments get their
// own history (the buyer's share sent, the relay's share checked against the circuits it carried);
// the relay's daily byte count (and what its caps refused or cut) is kept for `axon status`.
export default `
ALTER TABLE role_announcements ADD COLUMN relay_price INTEGER NOT NULL DEFAULT 0; -- lamports per minute

CREATE TABLE relay_payments (
  signature   TEXT NOT NULL,                -- the period's payment transaction (one with the seller's transfer)
  direction   TEXT NOT NULL CHECK (direction IN ('out', 'in')), -- out: we paid a relay; in: we are the relay
  request_id  TEXT NOT NULL,                -- the purchase (from the Payment memo)
  period      INTEGER NOT NULL,
  payer       TEXT NOT NULL,                -- buyer's address
  relay       TEXT NOT NULL,                -- relay's address
  peer        TEXT NOT NULL,                -- the other end of the relayed circuit (seller's address)
  lamports    INTEGER NOT NULL CHECK (lamports >= 0),
  state       TEXT NOT NULL,                -- confirmed (out) | verified | refused (in)
  reason      TEXT,
  created_at  INTEGER NOT NULL,             -- unix ms
  PRIMARY KEY (signature, direction)
) STRICT;
CREATE INDEX relay_payments_request ON relay_payments (request_id, period);

CREATE TABLE relay_use (
  day         INTEGER PRIMARY KEY,          -- UTC day number (unix ms / 86400000)
  bytes       INTEGER NOT NULL,             -- relayed that day, both directions
  refused     INTEGER NOT NULL,             -- hop requests refused: daily budget spent
  cut_unpaid  INTEGER NOT NULL,             -- circuits cut: their peers did not pay the relay
  rate        INTEGER NOT NULL,             -- bytes/s (5 s average) at the last save
  updated_at  INTEGER NOT NULL              -- unix ms
) STRICT;
`;
