// Runs in: Node. The LedgerClient (types.ts) over @solana/kit: post, watch, balance, airdrop,
// fee estimate, payment check. One client per identity; create it with createLedgerClient().
import {
  compileTransactionMessage,
  getBase64Decoder,
  getCompiledTransactionMessageEncoder,
  getSignatureFromTransaction,
  isSolanaError,
  lamports as toLamports,
  sendAndConfirmTransactionFactory,
  signTransactionMessageWithSigners,
  SOLANA_ERROR__BLOCK_HEIGHT_EXCEEDED,
  SOLANA_ERROR__JSON_RPC__INVALID_REQUEST,
  SOLANA_ERROR__JSON_RPC__METHOD_NOT_FOUND,
  SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE,
  SOLANA_ERROR__JSON_RPC__SERVER_ERROR_TRANSACTION_SIGNATURE_VERIFICATION_FAILURE,
  SOLANA_ERROR__TRANSACTION_ERROR__ALREADY_PROCESSED,
  SOLANA_ERROR__TRANSACTION_ERROR__BLOCKHASH_NOT_FOUND,
  type Address,
  type Blockhash,
  type KeyPairSigner,
  type Signature,
  type TransactionMessageBytesBase64,
} from '@solana/kit';
import type { Identity } from '../identity/identity';
import type { Db } from '../store/db';
import { silentLogger, type Logger } from '../log';
import { resolveCluster, wsUrlFor, type ClusterEndpoints } from './cluster';
import { encodeEnvelope, GarbageStats, MessageTooLargeError } from './envelope';
import { expiresIn, newNonce } from './messages';
import { verifyPayment } from './payments';
import { DEFAULT_FEE_POLICY, FeePlanner, type Budget, type FeePolicy } from './fees';
import { watchLamports, watchTokenBalance } from './account-watch';
import {
  backoffMs,
  createRpc,
  PUBLIC_RPC_PACING,
  RpcMeter,
  RpcPacer,
  type PacingPolicy,
  SubscriptionsHolder,
  type RpcHealth,
  type LedgerRpc,
  type LedgerRpcSubscriptions,
  type RetryPolicy,
} from './rpc';
import { MARKET_BASE, marketTopic, stdinTopic } from './topics';
import { buildPostMessage } from './transactions';
import {
  assetByName,
  balanceOf,
  resolveAsset,
  tokenAccountMissing,
  tokenAccountRent,
  transferInstructions,
  usdcOn,
  type Asset,
} from './assets';
import type {
  AxonMessage,
  LedgerClient,
  Lamports,
  PaymentExpectation,
  PaymentVerdict,
  PostOptions,
  PostResult,
  Received,
  WatchOptions,
} from './types';
import { ReplayCache, topicWatch, type WatchContext } from './watcher';
import { RelayShareReader } from './relay-shares';
import { sleep } from '../sleep';

export interface LedgerClientOptions {
  identity: Identity;
  /** 'local' (default), 'devnet', 'mainnet-beta' or an http(s) RPC URL. Ignored if rpcUrl is given. */
  cluster?: string;
  /** Port of the local ledger for cluster 'local' (default 8899). */
  localPort?: number;
  rpcUrl?: string;
  /** Resolved endpoints (endpointsFor); wins over cluster and rpcUrl. */
  endpoints?: ClusterEndpoints;
  /** Default: derived from rpcUrl (ws, port + 1). */
  wsUrl?: string;
  db: Db;
  log?: Logger;
  /** Poll interval while the push path is down (default 1000 ms on loopback, 2000 ms elsewhere). */
  pollIntervalMs?: number;
  /** Safety-net poll interval while the push path is up (default 10 s). */
  pushPollIntervalMs?: number;
  /** Use logsSubscribe to wake watchers (default true). false = polling only. */
  push?: boolean;
  /** Attempts of one post (default 6). */
  postAttempts?: number;
  retry?: RetryPolicy;
  /** Priority-fee cap and bid (default DEFAULT_FEE_POLICY). */
  fees?: Partial<FeePolicy>;
  /** Request pacing (rpc.ts RpcPacer). Default: PUBLIC_RPC_PACING for any endpoint but a loopback
   *  one (the embedded ledger has no limits); false = never paced. */
  pacing?: PacingPolicy | false;
}

export type PostFailure = 'rejected' | 'failed' | 'gave-up' | 'closed';
export class LedgerPostError extends Error {
  override name = 'LedgerPostError';
  constructor(
    readonly kind: PostFailure,
    message: string,
    readonly signature?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

type SendAndConfirm = ReturnType<typeof sendAndConfirmTransactionFactory>;
const RANK = { processed: 0, confirmed: 1, finalized: 2 } as const;
type Commitment = keyof typeof RANK;

export class SolanaLedgerClient implements LedgerClient {
  readonly address: Address;
  readonly endpoints: ClusterEndpoints;
  readonly garbage: GarbageStats;
  readonly rpc: LedgerRpc;
  /** Requests per method and the 429 state of this client's RPC endpoint. */
  readonly meter = new RpcMeter();
  /** Paces requests under public limits (undefined: not paced). */
  readonly pacer: RpcPacer | undefined;
  /** Compute-unit limit and priority fee of every transaction this client signs. */
  readonly fees: FeePlanner;
  readonly #subs: SubscriptionsHolder;
  readonly #signer: Promise<KeyPairSigner>;
  readonly #log: Logger;
  readonly #db: Db;
  readonly #closed = new AbortController();
  readonly #watch: WatchContext;
  readonly #postAttempts: number;

  constructor(opts: LedgerClientOptions) {
    this.#log = opts.log ?? silentLogger;
    this.#db = opts.db;
    this.address = opts.identity.address;
    this.endpoints = opts.endpoints
      ? opts.endpoints
      : opts.rpcUrl
        ? { name: 'custom', rpcUrl: opts.rpcUrl, wsUrl: opts.wsUrl ?? wsUrlFor(opts.rpcUrl), airdrop: true }
        : resolveCluster(opts.cluster ?? 'local', { localPort: opts.localPort });
    const loopback = /^https?:\/\/(127\.|localhost|\[::1\])/.test(this.endpoints.rpcUrl);
    const pacing = opts.pacing === undefined ? (loopback ? false : PUBLIC_RPC_PACING) : opts.pacing;
    this.pacer = pacing && (pacing.requestsPer10s > 0 || pacing.perMethodPer10s > 0) ? new RpcPacer(pacing) : undefined;
    this.rpc = createRpc(this.endpoints.rpcUrl, this.#log, opts.retry, this.meter, this.pacer);
    this.#subs = new SubscriptionsHolder(this.endpoints.wsUrl);
    this.fees = new FeePlanner(this.rpc, this.#log, { ...DEFAULT_FEE_POLICY, ...opts.fees });
    this.#signer = opts.identity.signer();
    this.#signer.catch(() => undefined); // surfaced by post()
    this.garbage = new GarbageStats(this.#log);
    this.#postAttempts = opts.postAttempts ?? 6;
    this.#watch = {
      rpc: this.rpc,
      subs: opts.push === false ? undefined : this.#subs,
      db: this.#db,
      log: this.#log,
      garbage: this.garbage,
      replay: new ReplayCache(),
      pollMs: opts.pollIntervalMs ?? (loopback ? 1_000 : 2_000),
      pushPollMs: opts.pushPollIntervalMs ?? 10_000,
      closed: this.#closed.signal,
    };
  }

  stdinTopic(peer: Address): Promise<Address> {
    return stdinTopic(peer);
  }

  marketTopic(marketId: string): Promise<Address> {
    return marketTopic(marketId);
  }

  async post(topic: Address, message: AxonMessage, opts: PostOptions = {}): Promise<PostResult> {
    const memo = encodeEnvelope(message); // invalid or too large: throws before anything is sent
    const commitment: Commitment = opts.commitment ?? 'confirmed';
    const signer = await this.#signer;
    let signed: Awaited<ReturnType<typeof signTransactionMessageWithSigners>> | undefined;
    let signature: Signature | undefined;
    let blockhash: { blockhash: Blockhash; lastValidBlockHeight: bigint } | undefined;
    let budget: Budget | undefined;
    let lastErr: unknown;
    let subs: LedgerRpcSubscriptions | undefined;
    for (let attempt = 0; attempt < this.#postAttempts; attempt++) {
      if (this.#closed.signal.aborted) throw new LedgerPostError('closed', 'ledger client closed', signature);
      try {
        if (!signed) {
          ({ value: blockhash } = await this.rpc.getLatestBlockhash({ commitment: 'confirmed' }).send());
          // a SOL transfer is built by buildPostMessage; a token payment by the asset layer
          const spl = opts.transfer?.asset?.kind === 'spl';
          const instructions = spl ? await transferInstructions(signer, opts.transfer!) : undefined;
          const transfer = spl ? undefined : opts.transfer;
          const shape = { signer, topic, memo, transfer, instructions, relayShare: opts.relayShare, blockhash };
          // a replacement bids higher than the transaction it replaces (which can no longer land)
          budget = FeePlanner.within(
            budget ? this.fees.bump(budget) : await this.fees.budget(shape, message.type, this.#closed.signal),
            1,
            opts.maxFeeLamports,
          );
          const msg = buildPostMessage({ ...shape, budget }, message.type);
          signed = await signTransactionMessageWithSigners(msg);
          signature = getSignatureFromTransaction(signed);
        }
        subs = this.#subs.get();
        // kit's factory is typed per cluster; ours is chosen at run time.
        const sendAndConfirm = sendAndConfirmTransactionFactory({
          rpc: this.rpc,
          rpcSubscriptions: subs,
        } as unknown as Parameters<typeof sendAndConfirmTransactionFactory>[0]);
        await sendAndConfirm(signed as Parameters<SendAndConfirm>[0], { commitment, abortSignal: this.#closed.signal });
        const st = await this.#status(signature!);
        return { signature: signature!, slot: st?.slot ?? 0n, fee: FeePlanner.feeOf(budget) };
      } catch (e) {
        if (e instanceof MessageTooLargeError) throw e;
        lastErr = e;
        const st = signature ? await this.#status(signature).catch(() => undefined) : undefined;
        if (st && !st.err && RANK[st.confirmationStatus ?? 'processed'] >= RANK[commitment]) {
          return { signature: signature!, slot: st.slot, fee: FeePlanner.feeOf(budget) };
        }
        if (st?.err) {
          throw new LedgerPostError('failed', `transaction ${signature} failed: ${describe(st.err)}`, signature, {
            cause: e,
          });
        }
        const cls = classify(e);
        if (cls === 'fatal') {
          throw new LedgerPostError('rejected', `ledger refused the transaction: ${errText(e)}`, signature, {
            cause: e,
          });
        }
        // Re-sign (new blockhash, higher fee) only when the signed one can never land: its blockhash
        // is no longer valid for processing AND the ledger knows no status for it (not even
        // 'processed'). Otherwise the same transaction is sent again: one signature, paid once.
        if (cls === 'expired' && signed && !st && blockhash && (await this.#expired(blockhash.blockhash))) {
          const again = await this.#status(signature!).catch(() => null);
          if (again === undefined) {
            this.#log.info({ signature, attempt }, 'ledger post: expired unconfirmed; re-signing with a higher fee');
            signed = undefined;
          }
        }
        if (subs) this.#subs.renew(subs); // a failed WebSocket channel is not reusable
        const wait = backoffMs(attempt);
        this.#log.debug({ attempt, wait, signature, err: errText(e) }, 'ledger post: retrying');
        await sleep(wait, this.#closed.signal);
      }
    }
    throw new LedgerPostError(
      'gave-up',
      `post failed after ${this.#postAttempts} attempts: ${errText(lastErr)}`,
      signature,
      {
        cause: lastErr,
      },
    );
  }

  /** Is this blockhash past its validity (a transaction using it can no longer be processed)? */
  async #expired(hash: Blockhash): Promise<boolean> {
    try {
      const { value } = await this.rpc.isBlockhashValid(hash, { commitment: 'processed' }).send();
      return !value;
    } catch {
      return false; // unknown: do not re-sign
    }
  }

  async #status(signature: Signature) {
    const { value } = await this.rpc.getSignatureStatuses([signature], { searchTransactionHistory: true }).send();
    const s = value[0];
    return s ? { slot: BigInt(s.slot), err: s.err, confirmationStatus: s.confirmationStatus ?? undefined } : undefined;
  }

  watch(topic: Address, opts: WatchOptions = {}): AsyncIterable<Received> {
    return topicWatch(this.#watch, topic, opts);
  }

  async balance(addr?: Address): Promise<Lamports> {
    const { value } = await this.rpc.getBalance(addr ?? this.address, { commitment: 'confirmed' }).send();
    return BigInt(value);
  }

  async airdrop(lamports: Lamports): Promise<string> {
    if (!this.endpoints.airdrop)
      throw new AirdropNotServedError(this.endpoints.rpcUrl, `no airdrops on ${this.endpoints.name}`);
    const signature = await this.rpc
      .requestAirdrop(this.address, toLamports(lamports), { commitment: 'confirmed' })
      .send()
      .catch((e: unknown) => {
        // method not found (-32601), or a validator without a faucet (agave: -32600 invalid request)
        if (
          isSolanaError(e, SOLANA_ERROR__JSON_RPC__METHOD_NOT_FOUND) ||
          isSolanaError(e, SOLANA_ERROR__JSON_RPC__INVALID_REQUEST)
        )
          throw new AirdropNotServedError(this.endpoints.rpcUrl, (e as Error).message);
        throw e;
      });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !this.#closed.signal.aborted) {
      const st = await this.#status(signature);
      if (st?.err) throw new Error(`airdrop ${signature} failed: ${describe(st.err)}`);
      if (st && RANK[st.confirmationStatus ?? 'processed'] >= RANK.confirmed) return signature;
      await sleep(150, this.#closed.signal);
    }
    throw new Error(`airdrop ${signature} not confirmed within 60 s`);
  }

  asset(mint: string | null | undefined): Promise<Asset> {
    return resolveAsset(this.rpc, mint);
  }

  assetByName(name: string): Promise<Asset> {
    return assetByName(this.rpc, this.endpoints.name, name);
  }

  usdc(): Promise<Asset | null> {
    return usdcOn(this.rpc, this.endpoints.name);
  }

  balanceOf(asset: Asset, addr?: Address): Promise<bigint> {
    return balanceOf(this.rpc, addr ?? this.address, asset);
  }

  tokenAccountMissing(asset: Asset, owner: Address): Promise<boolean> {
    return tokenAccountMissing(this.rpc, owner, asset);
  }

  tokenAccountRent(): Promise<Lamports> {
    return tokenAccountRent(this.rpc);
  }

  async tokenFaucet(asset: Asset, amount: bigint): Promise<string> {
    if (asset.kind !== 'spl') return this.airdrop(amount);
    if (!this.endpoints.airdrop)
      throw new AirdropNotServedError(this.endpoints.rpcUrl, `no token faucet on ${this.endpoints.name}`);
    // the local ledger's method (src-main/local-ledger/tokens.ts); a real cluster has no such faucet
    const rpc = this.rpc as unknown as {
      requestTokenAirdrop(owner: Address, amount: string, mint: Address): { send(): Promise<Signature> };
    };
    const signature = await rpc
      .requestTokenAirdrop(this.address, amount.toString(), asset.mint)
      .send()
      .catch((e: unknown) => {
        if (
          isSolanaError(e, SOLANA_ERROR__JSON_RPC__METHOD_NOT_FOUND) ||
          isSolanaError(e, SOLANA_ERROR__JSON_RPC__INVALID_REQUEST)
        )
          throw new AirdropNotServedError(this.endpoints.rpcUrl, `no token faucet: ${(e as Error).message}`);
        throw e;
      });
    await this.#confirmed(signature, 'token airdrop');
    return signature;
  }

  async #confirmed(signature: Signature, what: string): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !this.#closed.signal.aborted) {
      const st = await this.#status(signature);
      if (st?.err) throw new Error(`${what} ${signature} failed: ${describe(st.err)}`);
      if (st && RANK[st.confirmationStatus ?? 'processed'] >= RANK.confirmed) return;
      await sleep(150, this.#closed.signal);
    }
    throw new Error(`${what} ${signature} not confirmed within 60 s`);
  }

  async estimateFee(withTransfer: boolean): Promise<Lamports> {
    const signer = await this.#signer;
    const { value: blockhash } = await this.rpc.getLatestBlockhash({ commitment: 'confirmed' }).send();
    const sample: AxonMessage = {
      type: 'Payment',
      nonce: newNonce(),
      expiresAt: expiresIn(60),
      requestId: 'fee',
      period: 0,
    };
    const shape = {
      signer,
      topic: MARKET_BASE,
      memo: encodeEnvelope(sample),
      transfer: withTransfer ? { to: await stdinTopic(this.address), lamports: 1n } : undefined,
      blockhash,
    };
    // the fee as a post pays it: base fee + compute-unit limit × the price bid now
    const budget = await this.fees.budget(shape, sample.type, this.#closed.signal);
    const msg = buildPostMessage({ ...shape, budget });
    const bytes = getCompiledTransactionMessageEncoder().encode(compileTransactionMessage(msg));
    const b64 = getBase64Decoder().decode(bytes) as TransactionMessageBytesBase64;
    const { value } = await this.rpc.getFeeForMessage(b64, { commitment: 'confirmed' }).send();
    if (value === null) throw new Error('the ledger could not price the transaction (blockhash expired?)');
    return BigInt(value);
  }

  relayShareReader(): RelayShareReader {
    return new RelayShareReader(this.rpc, this.address);
  }

  watchLamports(addr: Address, onChange: (lamports: Lamports) => void): () => void {
    const stop = watchLamports(this.rpc, this.#watch.subs, addr, onChange);
    const onClose = (): void => stop();
    this.#closed.signal.addEventListener('abort', onClose, { once: true });
    return () => {
      this.#closed.signal.removeEventListener('abort', onClose);
      stop();
    };
  }

  watchTokenBalance(owner: Address, asset: Asset, onChange: (amount: bigint) => void): () => void {
    const stop = watchTokenBalance(this.rpc, this.#watch.subs, owner, asset, onChange);
    const onClose = (): void => stop();
    this.#closed.signal.addEventListener('abort', onClose, { once: true });
    return () => {
      this.#closed.signal.removeEventListener('abort', onClose);
      stop();
    };
  }

  verifyPayment(signature: string, expected: PaymentExpectation): Promise<PaymentVerdict> {
    return verifyPayment({ rpc: this.rpc, db: this.#db, log: this.#log }, signature, expected);
  }

  /** The RPC endpoint's state as this client saw it (requests, 429s). */
  rpcHealth(): RpcHealth {
    return {
      ...this.meter.health(),
      pacing: this.pacer ? { ...this.pacer.policy, ...this.pacer.stats() } : null,
    };
  }

  async close(): Promise<void> {
    this.#closed.abort();
    this.meter.close();
  }
}

/** The RPC does not serve requestAirdrop (its own answer, or a cluster known to have no faucet). */
export class AirdropNotServedError extends Error {
  override name = 'AirdropNotServedError';
  constructor(
    readonly rpcUrl: string,
    readonly detail: string,
  ) {
    super(`the ledger at ${rpcUrl} does not serve requestAirdrop (${detail})`);
  }
}

export function createLedgerClient(opts: LedgerClientOptions): SolanaLedgerClient {
  return new SolanaLedgerClient(opts);
}

type ErrorClass = 'fatal' | 'expired' | 'transient';

/** What a failed send-and-confirm means for the next attempt. */
function classify(e: unknown): ErrorClass {
  if (isSolanaError(e, SOLANA_ERROR__BLOCK_HEIGHT_EXCEEDED)) return 'expired';
  if (isSolanaError(e, SOLANA_ERROR__JSON_RPC__SERVER_ERROR_TRANSACTION_SIGNATURE_VERIFICATION_FAILURE)) return 'fatal';
  if (isSolanaError(e, SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE)) {
    const cause = (e as Error).cause;
    if (isSolanaError(cause, SOLANA_ERROR__TRANSACTION_ERROR__BLOCKHASH_NOT_FOUND)) return 'expired';
    if (isSolanaError(cause, SOLANA_ERROR__TRANSACTION_ERROR__ALREADY_PROCESSED)) return 'transient';
    return 'fatal'; // insufficient funds, program error, …: resending cannot help
  }
  if (isSolanaError(e, SOLANA_ERROR__TRANSACTION_ERROR__BLOCKHASH_NOT_FOUND)) return 'expired';
  return 'transient';
}

function errText(e: unknown): string {
  if (!e) return 'unknown error';
  const err = e as Error;
  const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
  return `${err.message ?? String(e)}${cause}`;
}

function describe(err: unknown): string {
  return JSON.stringify(err, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}
