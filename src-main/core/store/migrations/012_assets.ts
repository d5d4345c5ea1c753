// Migration 012: what an amount is counted in. A listing / offer / purchase / sale priced
// in an SPL token names its mint (amounts in its base units); NULL = SOL (lamports), as before.
export default `
ALTER TABLE listings ADD COLUMN mint TEXT;
ALTER TABLE offers ADD COLUMN mint TEXT;
ALTER TABLE purchases ADD COLUMN mint TEXT;
ALTER TABLE sales ADD COLUMN mint TEXT;
`;
