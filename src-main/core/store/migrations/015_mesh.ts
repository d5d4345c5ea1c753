// Migration 015: the mesh (docs/mesh.md). A rebroadcast listing names its upstream (the listing
// it is bought from, when that is not the origin), its hop count and the latency its data has when
// it leaves the rebroadcaster; an offer keeps the same plus the seller's upload budget; a sale
// remembers the rebroadcast listing its buyer resells it as (the origin's earnings per rebroadcaster).
export default `
ALTER TABLE listings ADD COLUMN upstream TEXT;                 -- rebroadcast of a rebroadcast: listing id bought from
ALTER TABLE listings ADD COLUMN hops INTEGER NOT NULL DEFAULT 0; -- 0 = origin; k = k rebroadcasters before its buyers
ALTER TABLE listings ADD COLUMN hop_ms INTEGER;                -- rebroadcast: latency from the origin on leaving it (ms)
ALTER TABLE offers ADD COLUMN upstream TEXT;                   -- as listings.upstream, for our own rebroadcasts
ALTER TABLE offers ADD COLUMN hops INTEGER NOT NULL DEFAULT 0;
ALTER TABLE offers ADD COLUMN upload_bps INTEGER;              -- upload budget of the stream (bytes/s); NULL = none
ALTER TABLE sales ADD COLUMN rebroadcast TEXT;                 -- the buyer resells this sale as that listing id
CREATE INDEX sales_rebroadcast ON sales (rebroadcast) WHERE rebroadcast IS NOT NULL;
`;
