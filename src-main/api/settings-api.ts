// Runs in: Node. The Settings screen's commands: read settings.json as the UI shows it, write a
// validated patch, and say whether the change needs a restart. Start-on-login is the desktop
// app's (Electron sets it as a login item); the headless node refuses it with a hint.
import type { SettingsPatch, SettingsResult, SettingsView } from '../../src-shared/contract/api';
import { loadSettings, updateSettings, type Settings } from '../core/settings';
import { UserFacingError } from './errors';

export interface SettingsContext {
  dataDir: string;
  settingsFile: string;
  setStartOnLogin?: (on: boolean) => void;
}

/** Changes that only take effect when the node starts again. */
const RESTART_KEYS = ['cluster', 'market', 'listenPort', 'roles', 'stunServers'] as const;

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
  const { oneClickBuyMax, ...rest } = patch;
  const next = updateSettings(ctx.settingsFile, {
    ...(rest as Partial<Settings>),
    ...(oneClickBuyMax !== undefined ? { oneClickBuyMaxLamports: Number(oneClickBuyMax) } : {}),
  });
  if (patch.startOnLogin !== undefined) ctx.setStartOnLogin?.(patch.startOnLogin);
  const restartRequired = RESTART_KEYS.some((k) => JSON.stringify(before[k]) !== JSON.stringify(next[k]));
  return { settings: readSettingsView(ctx), restartRequired };
}
