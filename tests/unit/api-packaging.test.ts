// Packaging cannot run on this machine (electron-builder downloads Electron), so its config is
// checked here: against electron-builder's own schema, and for what the app needs at run time.
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const root = join(import.meta.dirname, '..', '..');

describe('electron-builder.yml', () => {
  const yaml = require('js-yaml') as { load(s: string): Record<string, unknown> };
  const cfg = yaml.load(readFileSync(join(root, 'electron-builder.yml'), 'utf8'));

  it("matches electron-builder's schema", async () => {
    const { validateConfiguration } = require('app-builder-lib/out/util/config/config') as {
      validateConfiguration(c: unknown, log: unknown): Promise<void>;
    };
    const { DebugLogger } = require('builder-util') as { DebugLogger: new (on: boolean) => unknown };
    await expect(validateConfiguration(cfg, new DebugLogger(false))).resolves.toBeUndefined();
    await expect(validateConfiguration({ ...cfg, bogus: 1 }, new DebugLogger(false))).rejects.toThrow(/bogus/);
  });

  it('builds every platform, unpacks and rebuilds the native modules, ships the icons', () => {
    expect(cfg.appId).toBe('org.axon.app');
    expect((cfg.linux as { target: string[] }).target).toEqual(['AppImage', 'deb']);
    expect((cfg.mac as { target: string[] }).target).toEqual(['dmg']);
    expect((cfg.win as { target: string[] }).target).toEqual(['nsis']);
    expect(cfg.npmRebuild).toBe(true);
    const unpack = (cfg.asarUnpack as string[]).join('\n');
    for (const mod of ['better-sqlite3', 'node-datachannel', '@napi-rs/keyring', 'litesvm'])
      expect(unpack).toContain(`node_modules/${mod}/`);
    for (const icon of ['icon.png', 'tray-serving.png', 'tray-idle.png', 'tray-error.png', 'tray-serving@2x.png']) {
      expect(existsSync(join(root, 'resources', icon)), icon).toBe(true);
    }
  });
});
