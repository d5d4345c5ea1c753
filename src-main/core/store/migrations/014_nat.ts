// Migration 014: this node's latest NAT verdict (one row), so `axon status` shows it whether or
// not a node runs on the data dir (e.g. "udp-blocked · relay-only": no hole punch from here).
export default `
CREATE TABLE nat_verdict (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  mapping       TEXT NOT NULL,                -- endpoint-independent | endpoint-dependent | none | udp-blocked | unknown
  reachability  TEXT NOT NULL,                -- public | punchable | relay-only | unknown
  filtering     TEXT,                         -- RFC 5780 filtering, when a test told it
  public_ip     TEXT,
  warnings      TEXT NOT NULL,                -- JSON array of strings
  at            INTEGER NOT NULL              -- unix ms of the discovery
) STRICT;
`;
