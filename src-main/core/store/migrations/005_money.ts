// Migration 005: money and capacity. Per purchase, the transaction fees the buyer paid for it
// (the spending cap covers prices AND fees); sales by buyer and stream (the seller's per-buyer
// limits: one pending sale, one unpaid grace window per cooldown).
export default `
ALTER TABLE purchases ADD COLUMN fees INTEGER NOT NULL DEFAULT 0;  -- lamports of tx fees paid for it
CREATE INDEX sales_buyer ON sales (buyer, stream_id, created_at);
`;
