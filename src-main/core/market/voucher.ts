// Runs in: Node. Payment vouchers over the stream (docs/market.md "Vouchers"): instead of one
// ledger transaction per period, the buyer signs a durable-nonce transaction per period
// (cumulative since the last settlement: each supersedes the one before; ledger/voucher-tx.ts) and
// hands it to the seller on the stream; the seller checks it at once, locally, stores it, and
// settles on the ledger only from time to time:
//   - when its unsettled credit reaches the credit limit (one period at first, then 3 × what this
//     buyer settled so far, at most MAX_CREDIT_PERIODS periods),
//   - when the buyer's balance (watched by subscription) falls below what is owed,
//   - at the end of the sale, and at start for anything left unsettled by a crash.
// Both sides store a voucher in SQLite before it is sent / acknowledged (store/vouchers.ts).
// The rules both sides share are in voucher-shared.ts, the seller's side in voucher-seller.ts, the buyer's
// (and its nonce accounts, kept across purchases) in voucher-buyer.ts.
export * from './voucher-shared';
export { VoucherSeller, type SellerHooks } from './voucher-seller';
export { VoucherBuyer } from './voucher-buyer';
