// Migration 011 (issue 16): what a stream's frames hold and what a buyer may see before paying.
// - listings.schema_hint: the Listing's schema hint (src-shared/stream-schema.ts), null if none
// - listings.addrs: where the seller answers a preview (JSON array of multiaddrs), null if none
// - offers.schema_hint: the seller's hint, given at sell time or inferred from the first frames
// - offers.preview: 'recent' (a few recent frames, free, rate-limited) or 'off' (docs/streams.md)
// - purchases.raw_file_seq / raw_file_offset: the raw file's checkpoint — the last frame written
//   and the file's size after it — so a resume after a crash cuts the file there and continues
//   from that frame: byte-exact, nothing written twice
export default `
ALTER TABLE listings ADD COLUMN schema_hint TEXT;
ALTER TABLE listings ADD COLUMN addrs TEXT;
ALTER TABLE offers ADD COLUMN schema_hint TEXT;
ALTER TABLE offers ADD COLUMN preview TEXT NOT NULL DEFAULT 'recent' CHECK (preview IN ('recent', 'off'));
ALTER TABLE purchases ADD COLUMN raw_file_seq INTEGER;
ALTER TABLE purchases ADD COLUMN raw_file_offset INTEGER;
`;
