// Runs in: Node. `axon rpc [show|url URL|ws URL|key-url [URL]|clear-key|fee-cap LAMPORTS] [--json]`:
// the ledger endpoint. `url`/`ws` (or `none`) go to settings.json; an RPC URL carrying an API key
// goes to the OS keychain (or a 0600 file where none exists) with `key-url`, read from stdin when
// not given (so it stays out of the shell history), and is only ever shown redacted.
import { createInterface } from 'node:readline';
import type { CliContext } from '../context';
import { CliError } from '../context';
import { toJson } from '../format';
import { updateSettings, SettingsError } from '../../core/settings';
import { RpcSecretStore } from '../../core/ledger/rpc-secret';
import { PUBLIC_RPC_PACING } from '../../core/ledger/rpc';
import { ledgerEndpoint } from './node-context';

const ACTIONS = ['show', 'url', 'ws', 'key-url', 'clear-key', 'fee-cap', 'pacing'] as const;
type Action = (typeof ACTIONS)[number];

async function firstLine(): Promise<string> {
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    rl.close();
    return line.trim();
  }
  return '';
}

export async function rpcCommand(
  ctx: CliContext,
  action: string | undefined,
  value: string | undefined,
  o: { json?: boolean },
): Promise<void> {
  const act = (action ?? 'show') as Action;
  if (!ACTIONS.includes(act)) throw new CliError(`unknown rpc action '${action}': use ${ACTIONS.join(', ')}`, 2);
  const secrets = new RpcSecretStore(ctx.paths.root, { store: ctx.global.keystore });
  const set = (patch: Parameters<typeof updateSettings>[1]): void => {
    try {
      ctx.settings = updateSettings(ctx.paths.settings, patch);
    } catch (e) {
      if (e instanceof SettingsError) throw new CliError(e.problems.join('; '), 2);
      throw e;
    }
  };
  const none = (v: string | undefined): boolean => v === undefined || v === 'none' || v === '';
  switch (act) {
    case 'url':
      set({ rpcUrl: none(value) ? null : value });
      break;
    case 'ws':
      set({ rpcWsUrl: none(value) ? null : value });
      break;
    case 'fee-cap': {
      const n = Number(value);
      if (value === undefined || !Number.isInteger(n) || n < 0)
        throw new CliError('fee-cap takes a whole number of lamports, e.g. axon rpc fee-cap 10000', 2);
      set({ rpcPriorityFeeCapLamports: n });
      break;
    }
    case 'pacing': {
      // `pacing auto`, or `pacing ALL[/PER_METHOD]` requests per 10 s (0 = unpaced)
      if (value === 'auto' || value === undefined) {
        set({ rpcPacing: null });
        break;
      }
      const m = /^(\d+)(?:\/(\d+))?$/.exec(value);
      if (!m) throw new CliError('pacing takes auto, or requests per 10 s as ALL or ALL/PER_METHOD, e.g. 60/24', 2);
      const all = Number(m[1]);
      set({ rpcPacing: { requestsPer10s: all, perMethodPer10s: m[2] !== undefined ? Number(m[2]) : all } });
      break;
    }
    case 'key-url': {
      const url = value ?? (await firstLine());
      if (!url) throw new CliError('give the URL with its API key on stdin: axon rpc key-url < file', 2);
      try {
        const { where } = secrets.set(url);
        console.log(
          where === 'keychain'
            ? 'RPC URL with API key kept in the OS keychain.'
            : 'RPC URL with API key kept in a 0600 file in the data directory (no OS keychain here).',
        );
      } catch (e) {
        throw new CliError(`cannot keep the RPC URL: ${(e as Error).message}`, 2);
      }
      break;
    }
    case 'clear-key':
      secrets.clear();
      console.log('RPC URL with API key removed.');
      break;
    case 'show':
      break;
  }
  const ep = ledgerEndpoint(ctx);
  const out = {
    cluster: ctx.settings.cluster,
    rpcUrl: ep.shownUrl,
    wsUrl: ctx.settings.rpcWsUrl ?? (ep.keyed ? '(derived from the API-key URL)' : ep.wsUrl),
    keyed: ep.keyed,
    priorityFeeCapLamports: ctx.settings.rpcPriorityFeeCapLamports,
    pacing: ctx.settings.rpcPacing ?? (ep.local ? null : PUBLIC_RPC_PACING),
    pacingSetting: ctx.settings.rpcPacing === null ? 'auto' : 'set',
  };
  if (o.json) return console.log(toJson(out));
  console.log(`cluster   ${out.cluster}`);
  console.log(`rpc       ${out.rpcUrl}${out.keyed ? '  (API-key URL from the keychain)' : ''}`);
  console.log(`websocket ${out.wsUrl}`);
  console.log(`fee cap   ${out.priorityFeeCapLamports} lamports of priority fee per transaction at most`);
  const pace = out.pacing;
  console.log(
    `pacing    ${
      !pace || (pace.requestsPer10s === 0 && pace.perMethodPer10s === 0)
        ? 'none (the embedded local ledger has no limits)'
        : `${pace.requestsPer10s || 'unlimited'} requests / 10 s, ${pace.perMethodPer10s || 'unlimited'} per method`
    }${out.pacingSetting === 'auto' ? '  (auto; public RPC limits: 100 and 40 per 10 s)' : ''}`,
  );
  console.log('(whether it is rate-limiting us: axon status)');
}
