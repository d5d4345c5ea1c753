// Migration 006: the relay/reflector directory survives restarts (NodeAnnounces kept with their
// expiry, read at start), and this node's own role state (mode, serving, why) for `axon status`.
export default `
CREATE TABLE role_announcements (
  peer        TEXT PRIMARY KEY,             -- announcing node's PeerId
  roles       TEXT NOT NULL,                -- JSON array: relay | reflector
  multiaddrs  TEXT NOT NULL,                -- JSON array
  expires_at  INTEGER NOT NULL,             -- unix seconds (the announcement's expiresAt)
  seen_at     INTEGER NOT NULL              -- unix ms
) STRICT;
CREATE INDEX role_announcements_expiry ON role_announcements (expires_at);

CREATE TABLE role_state (
  role        TEXT PRIMARY KEY,             -- relay | reflector
  mode        TEXT NOT NULL,                -- auto | on | off
  active      INTEGER NOT NULL,             -- 1 while the role serves
  reason      TEXT NOT NULL,
  updated_at  INTEGER NOT NULL              -- unix ms
) STRICT;
`;
