// Migration 016: what this node learnt about the relays and reflectors it tried. A node whose
// announcement is still live on the ledger but which does not answer (it died, its host went
// away) is remembered as failing, with when and how often, so a restarted node skips it (backoff)
// instead of trying it first again (docs/net.md "Dead relays and reflectors").
export default `
ALTER TABLE role_announcements ADD COLUMN fails INTEGER NOT NULL DEFAULT 0;      -- health checks failed in a row
ALTER TABLE role_announcements ADD COLUMN failed_at INTEGER NOT NULL DEFAULT 0;  -- unix ms of the last failed one
`;
