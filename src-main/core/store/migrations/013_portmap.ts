// Migration 013: the router port mapping as the (last) running node held it, for `axon status`
// without a running node: one row, replaced at each change (net/portmap.ts).
export default `
CREATE TABLE port_mapping (
  id             INTEGER PRIMARY KEY CHECK (id = 1),
  state          TEXT NOT NULL,             -- off | searching | mapped | none
  protocol       TEXT,                      -- nat-pmp | upnp-igd (when mapped)
  external_ip    TEXT,
  external_port  INTEGER,
  internal_port  INTEGER NOT NULL,
  gateway        TEXT,
  expires_at     INTEGER,                   -- unix ms
  failures       TEXT NOT NULL,             -- JSON [{protocol, error}]: why each protocol gave none
  updated_at     INTEGER NOT NULL           -- unix ms
) STRICT;
`;
