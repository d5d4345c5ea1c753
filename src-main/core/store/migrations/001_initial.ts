// Migration 001: the tables every layer writes its history to.
// Amounts are lamports as INTEGER (SQLite integers are 64-bit; read them with safeIntegers).
// Times are unix milliseconds as INTEGER.
export default `
CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

CREATE TABLE peers (
  peer_id    TEXT PRIMARY KEY,
  address    TEXT NOT NULL,
  roles      TEXT NOT NULL DEFAULT '[]',
  multiaddrs TEXT NOT NULL DEFAULT '[]',
  first_seen INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL
) STRICT;

CREATE TABLE listings (
  id             TEXT PRIMARY KEY,            -- seller address + ':' + stream id
  seller         TEXT NOT NULL,
  stream_id      TEXT NOT NULL,
  title          TEXT NOT NULL,
  description    TEXT NOT NULL DEFAULT '',
  tags           TEXT NOT NULL DEFAULT '[]',
  format         TEXT NOT NULL,
  rate_millihz   INTEGER NOT NULL DEFAULT 0,
  price_direct   INTEGER NOT NULL,            -- lamports per minute, direct tier
  price_relay    INTEGER,                     -- lamports per minute, rebroadcast tier
  region         TEXT,
  origin         TEXT,                        -- for a rebroadcast listing: the origin listing id
  healthy        INTEGER NOT NULL DEFAULT 1,
  own            INTEGER NOT NULL DEFAULT 0,  -- 1 = published by this node
  published_at   INTEGER NOT NULL,
  expires_at     INTEGER NOT NULL,
  delisted_at    INTEGER,
  signature      TEXT,
  UNIQUE (seller, stream_id)
) STRICT;
CREATE INDEX listings_expiry ON listings (expires_at);

CREATE TABLE purchases (
  id               TEXT PRIMARY KEY,          -- request id
  listing_id       TEXT NOT NULL,
  seller           TEXT NOT NULL,
  stream_id        TEXT NOT NULL,
  tier             TEXT NOT NULL CHECK (tier IN ('direct', 'relay')),
  state            TEXT NOT NULL,
  reason           TEXT,
  max_minutes      INTEGER NOT NULL,
  max_lamports     INTEGER NOT NULL,
  price_per_period INTEGER,
  period_ms        INTEGER,
  grace_ms         INTEGER,
  paid_through     INTEGER NOT NULL DEFAULT -1, -- last period paid (0-based), -1 = none
  spent            INTEGER NOT NULL DEFAULT 0,  -- lamports
  last_seq         INTEGER NOT NULL DEFAULT -1,
  frames           INTEGER NOT NULL DEFAULT 0,
  dropped          INTEGER NOT NULL DEFAULT 0,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL
) STRICT;

CREATE TABLE sales (
  id               TEXT PRIMARY KEY,          -- request id
  buyer            TEXT NOT NULL,
  stream_id        TEXT NOT NULL,
  tier             TEXT NOT NULL CHECK (tier IN ('direct', 'relay')),
  state            TEXT NOT NULL,
  reason           TEXT,
  price_per_period INTEGER NOT NULL,
  period_ms        INTEGER NOT NULL,
  grace_ms         INTEGER NOT NULL,
  paid_through     INTEGER NOT NULL DEFAULT -1,
  earned           INTEGER NOT NULL DEFAULT 0,
  frames           INTEGER NOT NULL DEFAULT 0,
  dropped          INTEGER NOT NULL DEFAULT 0,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL
) STRICT;

CREATE TABLE transitions (
  id         INTEGER PRIMARY KEY,
  kind       TEXT NOT NULL CHECK (kind IN ('purchase', 'sale')),
  ref_id     TEXT NOT NULL,
  from_state TEXT,
  to_state   TEXT NOT NULL,
  reason     TEXT,
  at         INTEGER NOT NULL
) STRICT;
CREATE INDEX transitions_ref ON transitions (kind, ref_id);

CREATE TABLE payments (
  signature  TEXT PRIMARY KEY,
  request_id TEXT NOT NULL,
  direction  TEXT NOT NULL CHECK (direction IN ('out', 'in')),
  payer      TEXT NOT NULL,
  recipient  TEXT NOT NULL,
  lamports   INTEGER NOT NULL CHECK (lamports >= 0),
  period     INTEGER NOT NULL,
  state      TEXT NOT NULL,                   -- sent | confirmed | verified | refused | failed
  reason     TEXT,
  slot       INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX payments_request ON payments (request_id, period);

CREATE TABLE connections (
  id           INTEGER PRIMARY KEY,
  peer_id      TEXT NOT NULL,
  request_id   TEXT,
  path         TEXT NOT NULL,                 -- direct-lan | direct-wan | hole-punched | relayed
  relay        TEXT,
  remote_addr  TEXT,
  opened_at    INTEGER NOT NULL,
  closed_at    INTEGER,
  close_reason TEXT,
  rtt_ms       INTEGER,
  bytes_in     INTEGER NOT NULL DEFAULT 0,
  bytes_out    INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX connections_peer ON connections (peer_id);

CREATE TABLE connection_attempts (
  id            INTEGER PRIMARY KEY,
  connection_id INTEGER REFERENCES connections (id),
  peer_id       TEXT NOT NULL,
  request_id    TEXT,
  method        TEXT NOT NULL,                -- direct | hole-punch | relay | reverse | upgrade
  addresses     TEXT NOT NULL DEFAULT '[]',
  started_at    INTEGER NOT NULL,
  duration_ms   INTEGER,
  outcome       TEXT NOT NULL,                -- pending | ok | failed | timeout | skipped
  error         TEXT
) STRICT;
CREATE INDEX attempts_peer ON connection_attempts (peer_id, started_at);

CREATE TABLE ledger_cursors (
  topic          TEXT PRIMARY KEY,
  last_signature TEXT,
  last_slot      INTEGER,
  updated_at     INTEGER NOT NULL
) STRICT;
`;
