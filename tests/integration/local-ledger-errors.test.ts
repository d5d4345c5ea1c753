// The local ledger refuses bad requests with Solana's own error codes and keeps serving:
// malformed JSON, unknown methods, bad params, oversized bodies, bad signatures, unknown and
// expired blockhashes, insufficient funds, duplicates, unsupported transaction versions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appendTransactionMessageInstructions,
  createTransactionMessage,
  generateKeyPairSigner,
  getBase64EncodedWireTransaction,
  isSolanaError,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE,
  SOLANA_ERROR__TRANSACTION_ERROR__BLOCKHASH_NOT_FOUND,
  type Blockhash,
  type Instruction,
  type KeyPairSigner,
} from '@solana/kit';
import { getTransferSolInstruction } from '@solana-program/system';
import { memoIx, SOL, startTestLedger, type TestLedger, type TestRpc } from './local-ledger-helpers';

let testLedger: TestLedger | undefined;
let ledger: TestLedger['ledger'];
let rpc: TestRpc;
let payer: KeyPairSigner;

interface RpcReply {
  status: number;
  body: {
    result?: unknown;
    error?: { code: number; message: string; data?: { err?: unknown; logs?: string[] } };
    id?: unknown;
  };
}

async function raw(body: string): Promise<RpcReply> {
  const res = await fetch(ledger.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await res.text();
  expect(text).not.toMatch(/at .*\.ts:\d+/); // never a stack trace
  return { status: res.status, body: JSON.parse(text) as RpcReply['body'] };
}
const call = (method: string, params: unknown[] = []): Promise<RpcReply> =>
  raw(JSON.stringify({ jsonrpc: '2.0', id: 7, method, params }));

const memo = (text: string): Instruction => memoIx(payer.address, text);

async function wireTx(
  ixs: Instruction[],
  opts: { feePayer?: KeyPairSigner; blockhash?: { blockhash: Blockhash; lastValidBlockHeight: bigint } } = {},
): Promise<string> {
  const bh = opts.blockhash ?? (await rpc.getLatestBlockhash({ commitment: 'processed' }).send()).value;
  const msg = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(opts.feePayer ?? payer, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash(bh, m),
    (m) => appendTransactionMessageInstructions(ixs, m),
  );
  return getBase64EncodedWireTransaction(await signTransactionMessageWithSigners(msg));
}

async function expectServing(): Promise<void> {
  const r = await call('getHealth');
  expect(r.body.result).toBe('ok');
}

beforeAll(async () => {
  // Short slots so a blockhash expires (150 slots) within the test.
  testLedger = await startTestLedger({ dirPrefix: 'axon-ledger-err-', payerLamports: 2n * SOL, slotMs: 20 });
  ({ ledger, rpc, payer } = testLedger);
});

afterAll(async () => {
  await testLedger?.close();
});

describe('local ledger error handling', () => {
  it('answers malformed JSON with -32700 and an invalid request with -32600', async () => {
    const r = await raw('{"jsonrpc": "2.0", "method": ');
    expect(r.status).toBe(200);
    expect(r.body.error).toEqual({ code: -32700, message: 'Parse error' });
    expect((await raw('42')).body.error?.code).toBe(-32600);
    expect((await raw('{"jsonrpc":"1.0","id":1,"method":"getSlot"}')).body.error?.code).toBe(-32600);
    await expectServing();
  });

  it('answers an unknown method with -32601', async () => {
    const r = await call('getEverything');
    expect(r.body.error).toEqual({ code: -32601, message: 'Method not found' });
    expect(r.body.id).toBe(7);
  });

  it('answers bad params with -32602', async () => {
    expect((await call('getBalance', ['not-a-key'])).body.error?.code).toBe(-32602);
    expect((await call('getBalance', [])).body.error?.code).toBe(-32602);
    expect((await call('getBalance', [payer.address, { commitment: 'soon' }])).body.error?.code).toBe(-32602);
    expect((await call('getSignaturesForAddress', [payer.address, { limit: 5000 }])).body.error?.code).toBe(-32602);
    expect((await call('getTransaction', ['1111', { commitment: 'processed' }])).body.error?.code).toBe(-32602);
    expect((await call('sendTransaction', ['!!!not base58!!!'])).body.error?.code).toBe(-32602);
    expect((await call('sendTransaction', ['AAAA', { encoding: 'base64' }])).body.error?.code).toBe(-32602);
    expect((await call('getSlot', 'not-an-array' as unknown as unknown[])).body.error?.code).toBe(-32602);
    await expectServing();
  });

  it('refuses an oversized body with a JSON-RPC error and keeps serving', async () => {
    const huge = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getSlot', params: ['x'.repeat(2 * 1024 * 1024)] });
    const r = await raw(huge);
    expect(r.status).toBe(413);
    expect(r.body.error?.code).toBe(-32600);
    await expectServing();
  });

  it('serves batches', async () => {
    const r = await raw(
      JSON.stringify([
        { jsonrpc: '2.0', id: 1, method: 'getHealth' },
        { jsonrpc: '2.0', id: 2, method: 'nope' },
      ]),
    );
    const arr = r.body as unknown as { id: number; result?: unknown; error?: { code: number } }[];
    expect(arr[0]).toMatchObject({ id: 1, result: 'ok' });
    expect(arr[1]?.error?.code).toBe(-32601);
  });

  it('refuses a bad signature with -32003', async () => {
    const tx = Buffer.from(await wireTx([memo('tampered')]), 'base64');
    tx[5]! ^= 0xff; // inside the first signature
    const r = await call('sendTransaction', [tx.toString('base64'), { encoding: 'base64' }]);
    expect(r.body.error).toMatchObject({ code: -32003, message: 'Transaction signature verification failure' });
    await expectServing();
  });

  it('refuses an unknown and an expired blockhash with -32002 "Blockhash not found"', async () => {
    const unknown = await wireTx([memo('unknown bh')], {
      blockhash: { blockhash: '11111111111111111111111111111111' as Blockhash, lastValidBlockHeight: 10n },
    });
    const r = await call('sendTransaction', [unknown, { encoding: 'base64' }]);
    expect(r.body.error?.code).toBe(-32002);
    expect(r.body.error?.message).toBe('Transaction simulation failed: Blockhash not found');
    expect(r.body.error?.data?.err).toBe('BlockhashNotFound');

    const { value: old } = await rpc.getLatestBlockhash({ commitment: 'processed' }).send();
    while ((await rpc.isBlockhashValid(old.blockhash, { commitment: 'processed' }).send()).value) {
      await new Promise((res) => setTimeout(res, 200));
    }
    const expired = await wireTx([memo('expired bh')], { blockhash: old });
    const e = await call('sendTransaction', [expired, { encoding: 'base64' }]);
    expect(e.body.error?.data?.err).toBe('BlockhashNotFound');
    // kit sees the same thing as a typed preflight failure caused by BlockhashNotFound.
    const kitErr = await rpc
      .sendTransaction(expired as never, { encoding: 'base64' })
      .send()
      .catch((x: unknown) => x);
    expect(isSolanaError(kitErr, SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE)).toBe(true);
    expect(isSolanaError((kitErr as Error).cause, SOLANA_ERROR__TRANSACTION_ERROR__BLOCKHASH_NOT_FOUND)).toBe(true);
  });

  it('refuses insufficient funds with -32002, charging nothing', async () => {
    const before = (await rpc.getBalance(payer.address, { commitment: 'processed' }).send()).value;
    const to = (await generateKeyPairSigner()).address;
    const r = await call('sendTransaction', [
      await wireTx([getTransferSolInstruction({ source: payer, destination: to, amount: 100n * SOL })]),
      { encoding: 'base64' },
    ]);
    expect(r.body.error?.code).toBe(-32002);
    expect(r.body.error?.data?.err).toEqual({ InstructionError: [0, { Custom: 1 }] });
    expect(r.body.error?.data?.logs?.join('\n')).toContain('insufficient lamports');
    expect((await rpc.getBalance(payer.address, { commitment: 'processed' }).send()).value).toBe(before);

    const pauper = await generateKeyPairSigner();
    const p = await call('sendTransaction', [
      await wireTx([memo('no funds')], { feePayer: pauper }),
      { encoding: 'base64' },
    ]);
    expect(p.body.error?.code).toBe(-32002);
    expect(p.body.error?.data?.err).toBe('AccountNotFound');
    await expectServing();
  });

  it('lands a failing transaction with skipPreflight, charging the fee and recording the error', async () => {
    const to = (await generateKeyPairSigner()).address;
    const before = (await rpc.getBalance(payer.address, { commitment: 'processed' }).send()).value;
    const wire = await wireTx([getTransferSolInstruction({ source: payer, destination: to, amount: 100n * SOL })]);
    const r = await call('sendTransaction', [wire, { encoding: 'base64', skipPreflight: true }]);
    const sig = r.body.result as string;
    expect(typeof sig).toBe('string');
    expect((await rpc.getBalance(payer.address, { commitment: 'processed' }).send()).value).toBe(before - 5000n);
    const st = await call('getSignatureStatuses', [[sig]]);
    expect((st.body.result as { value: { err: unknown }[] }).value[0]?.err).toEqual({
      InstructionError: [0, { Custom: 1 }],
    });
  });

  it('refuses a duplicate with AlreadyProcessed', async () => {
    const wire = await wireTx([memo('once')]);
    expect((await call('sendTransaction', [wire, { encoding: 'base64' }])).body.result).toBeTypeOf('string');
    const again = await call('sendTransaction', [wire, { encoding: 'base64' }]);
    expect(again.body.error?.code).toBe(-32002);
    expect(again.body.error?.data?.err).toBe('AlreadyProcessed');
  });

  it('asks for maxSupportedTransactionVersion on a v0 transaction (-32015)', async () => {
    const wire = await wireTx([memo('v0')]);
    const sig = (await call('sendTransaction', [wire, { encoding: 'base64' }])).body.result as string;
    let r: RpcReply;
    do {
      await new Promise((res) => setTimeout(res, 30));
      r = await call('getTransaction', [sig, { commitment: 'confirmed' }]);
    } while (r.body.result === null);
    expect(r.body.error?.code).toBe(-32015);
    await expectServing();
  });
});
