// Migration 008: the RPC endpoint's state as the running node last saw it (requests, 429s), so
// `axon status` in another process can say "RPC is rate-limiting us" (one row).
export default `
CREATE TABLE rpc_health (
  id              INTEGER PRIMARY KEY CHECK (id = 1),
  rate_limited    INTEGER NOT NULL,         -- 1 while the endpoint answers 429 (or did < 60 s ago)
  paused_until    INTEGER,                  -- unix ms: requests wait until then (Retry-After)
  limited_count   INTEGER NOT NULL,         -- 429 answers since the node started
  last_limited_at INTEGER,                  -- unix ms of the last 429
  requests        INTEGER NOT NULL,         -- JSON-RPC calls since the node started
  by_method       TEXT NOT NULL,            -- JSON object: method -> calls
  updated_at      INTEGER NOT NULL          -- unix ms
) STRICT;
`;
