// Migration 004: what the market needs beyond 001 — the seller's own streams (offers: source,
// prices, capacity, pause), and per trade: when streaming started (the payment schedule is
// counted from it), the peer's connect info (to reconnect after a restart) and the buyer's sinks.
export default `
CREATE TABLE offers (
  stream_id     TEXT PRIMARY KEY,
  title         TEXT NOT NULL,
  description   TEXT NOT NULL DEFAULT '',
  tags          TEXT NOT NULL DEFAULT '[]',
  format        TEXT NOT NULL,
  source        TEXT NOT NULL,               -- SourceConfig JSON
  price_direct  INTEGER NOT NULL,            -- lamports per minute
  price_relay   INTEGER,                     -- lamports per minute, rebroadcast tier
  period_sec    INTEGER NOT NULL,
  grace_sec     INTEGER NOT NULL,
  capacity      INTEGER NOT NULL,
  region        TEXT,
  origin        TEXT,                        -- rebroadcast: origin listing id
  ttl_sec       INTEGER NOT NULL,
  paused        INTEGER NOT NULL DEFAULT 0,
  next_seq      INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
) STRICT;

ALTER TABLE listings ADD COLUMN period_sec INTEGER NOT NULL DEFAULT 60;
ALTER TABLE listings ADD COLUMN roles TEXT NOT NULL DEFAULT '[]';
ALTER TABLE purchases ADD COLUMN started_at INTEGER;
ALTER TABLE purchases ADD COLUMN peer_info TEXT;      -- seller's ConnectInfo (JSON) for reconnects
ALTER TABLE purchases ADD COLUMN sinks TEXT NOT NULL DEFAULT '{}';
ALTER TABLE purchases ADD COLUMN expires_at INTEGER;  -- request expiry (unix ms)
ALTER TABLE sales ADD COLUMN started_at INTEGER;
ALTER TABLE sales ADD COLUMN peer_info TEXT;          -- buyer's addresses (JSON) to re-dial after a seller restart
ALTER TABLE sales ADD COLUMN max_lamports INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sales ADD COLUMN max_minutes INTEGER NOT NULL DEFAULT 0;
CREATE INDEX purchases_state ON purchases (state);
CREATE INDEX sales_state ON sales (state, stream_id);
`;
