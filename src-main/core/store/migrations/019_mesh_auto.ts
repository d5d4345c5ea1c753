// Migration 019: automatic rebroadcasters (docs/mesh.md "Automatic rebroadcasters"). The streams
// this node took on a full seller's RebroadcastAsk: which of its rebroadcasts are automatic (they
// stop, and stop paying their upstream, after a while without a buyer, across restarts too).
export default `
CREATE TABLE mesh_auto (
  stream_id     TEXT PRIMARY KEY,       -- our rebroadcast stream (rb-…)
  listing_id    TEXT NOT NULL,          -- the listing bought (the asking seller's)
  purchase_id   TEXT NOT NULL,          -- our purchase of it
  asked_by      TEXT NOT NULL,          -- the seller that asked (its address)
  started_at    INTEGER NOT NULL,       -- unix ms
  last_buyer_at INTEGER NOT NULL,       -- unix ms a buyer of it was last seen (started_at at first)
  stopped_at    INTEGER,                -- unix ms; NULL while it runs
  reason        TEXT                    -- why it stopped
);
CREATE INDEX mesh_auto_listing ON mesh_auto (listing_id, stopped_at);
`;
