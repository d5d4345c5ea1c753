// Migration 020: a listing's "full" flag (Listing field 22, docs/protocol.md): its seller takes no
// further buyer now, so a buyer's node buys one of the stream's rebroadcasts at once instead of
// asking the full seller and being redirected (docs/mesh.md "Full is not the end").
export default `
ALTER TABLE listings ADD COLUMN full INTEGER NOT NULL DEFAULT 0;  -- 1: the seller said it is full
`;
