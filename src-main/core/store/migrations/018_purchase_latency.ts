// Migration 018: a purchase's measured latency (median end to end, from the origin's frame
// timestamps; docs/mesh.md "Honest status"), kept by the running node, so that `axon status` can
// show the path origin → rebroadcaster(s) → you with the latency each hop adds from the history.
export default `
ALTER TABLE purchases ADD COLUMN latency_ms INTEGER;  -- median origin → this node (ms); NULL: not measured
`;
