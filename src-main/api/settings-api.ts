// Runs in: Node. The Settings screen's commands: read settings.json as the UI shows it, write a
// validated patch, and say whether the change needs a restart. Start-on-login is the desktop
// app's (Electron sets it as a login item); the headless node refuses it with a hint.
import type { SettingsPatch, SettingsResult, SettingsView } from '../../src-shared/contract/api';
import { loadSettings, updateSettings, type Settings } from '../core/settings';
import { UserFacingError } from './errors';
import { redactUrl, RpcSecretStore } from '../core/ledger/rpc-secret';

export interface SettingsContext {
  dataDir: string;
  settingsFile: string;
  setStartOnLogin?: (on: boolean) => void;
}

/** Changes that only take effect when the node starts again. */
const RESTART_KEYS = [
  'cluster',
  'market',
  'listenPort',
  'roles',
  'stunServers',
  'rpcUrl',
  'rpcWsUrl',
  'rpcPriorityFeeCapLamports',
  'mesh',
] as const;

/** A URL that carries an API key (query or user part): the keychain's, never settings.json's. */
const keyed = (url: string): boolean => /[?@]/.test(url.replace(/^https?:\/\//, ''));

export function readSettingsView(ctx: SettingsContext): SettingsView {
  const s = loadSettings(ctx.settingsFile);
  return {
    cluster: s.cluster,
    market: s.market,
    listenPort: s.listenPort,
    roles: s.roles,
    stunServers: s.stunServers,
    startOnLogin: s.startOnLogin,
    oneClickBuyMax: String(s.oneClickBuyMaxLamports),
    uiPort: s.uiPort,
    dataDir: ctx.dataDir,
    canStartOnLogin: Boolean(ctx.setStartOnLogin),
    ...rpcView(ctx, s),
    autoRebroadcast: { ...s.mesh.autoRebroadcast, maxLamports: String(s.mesh.autoRebroadcast.maxLamports) },
  };
}

function rpcView(
  ctx: SettingsContext,
  s: Settings,
): Pick<SettingsView, 'rpcUrl' | 'rpcKeyed' | 'rpcWsUrl' | 'rpcPriorityFeeCap'> {
  const secret = new RpcSecretStore(ctx.dataDir).get();
  return {
    rpcUrl: secret ? redactUrl(secret) : s.rpcUrl,
    rpcKeyed: secret !== null,
    rpcWsUrl: s.rpcWsUrl,
    rpcPriorityFeeCap: String(s.rpcPriorityFeeCapLamports),
  };
}

export function writeSettings(ctx: SettingsContext, patch: SettingsPatch): SettingsResult {
  if (patch.startOnLogin !== undefined && !ctx.setStartOnLogin) {
    throw new UserFacingError(
      'not-supported',
      'Start on login is a desktop-app setting.',
      'Set up a service (systemd, launchd) for the headless node instead.',
    );
  }
  const before = loadSettings(ctx.settingsFile);
  const { oneClickBuyMax, rpcUrl, rpcPriorityFeeCap, autoRebroadcast, ...rest } = patch;
  // the RPC URL: an API-key URL to the keychain (as `axon rpc key-url`), a plain one to settings.json
  let keyChanged = false;
  if (rpcUrl !== undefined) {
    const secrets = new RpcSecretStore(ctx.dataDir);
    const had = secrets.get();
    if (rpcUrl !== null && keyed(rpcUrl)) {
      try {
        secrets.set(rpcUrl);
      } catch (e) {
        throw new UserFacingError('bad-input', `Cannot keep the RPC URL: ${(e as Error).message}`, 'Check the URL.');
      }
    } else if (had) secrets.clear();
    keyChanged = had !== new RpcSecretStore(ctx.dataDir).get();
  }
  const next = updateSettings(ctx.settingsFile, {
    ...(rest as Partial<Settings>),
    ...(oneClickBuyMax !== undefined ? { oneClickBuyMaxLamports: Number(oneClickBuyMax) } : {}),
    ...(rpcUrl !== undefined ? { rpcUrl: rpcUrl !== null && keyed(rpcUrl) ? null : rpcUrl } : {}),
    ...(rpcPriorityFeeCap !== undefined ? { rpcPriorityFeeCapLamports: Number(rpcPriorityFeeCap) } : {}),
    ...(autoRebroadcast !== undefined
      ? {
          mesh: {
            ...before.mesh,
            autoRebroadcast: { ...autoRebroadcast, maxLamports: Number(autoRebroadcast.maxLamports) },
          },
        }
      : {}),
  });
  if (patch.startOnLogin !== undefined) ctx.setStartOnLogin?.(patch.startOnLogin);
  const restartRequired = keyChanged || RESTART_KEYS.some((k) => JSON.stringify(before[k]) !== JSON.stringify(next[k]));
  return { settings: readSettingsView(ctx), restartRequired };
}
