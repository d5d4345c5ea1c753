// Runs in: Electron main. The desktop app: one instance per user, hosts AxonNode, the window, the
// tray, notifications and the IPC that carries the app API. Thin: everything it calls lives in
// src-main/api (tested in plain Node); this file only wires Electron to it.
import { app, dialog, ipcMain, Notification, type BrowserWindow } from 'electron';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IPC_CALL, IPC_EVENT, type ApiResult, type StatusView } from '../../src-shared/contract/api';
import { ApiService } from '../api/service';
import { toErrorInfo } from '../api/errors';
import { startHost, type AxonHost } from '../api/host';
import { NotificationPolicy, trayStateFor } from '../api/notify-policy';
import { AppTray } from './tray';
import { createMainWindow, hardenSession } from './window';
import { isOwnPage } from '../api/window-policy';

const here = import.meta.dirname; // out/main
const preload = join(here, '../preload/index.cjs');
const indexHtml = join(here, '../renderer/index.html');
const resourcesDir = app.isPackaged ? join(process.resourcesPath, 'resources') : join(app.getAppPath(), 'resources');
const startedHidden = process.argv.includes('--hidden');

let win: BrowserWindow | null = null;
let tray: AppTray | null = null;
let host: AxonHost | null = null;
let api: ApiService | null = null;
let quitting = false;

if (!app.requestSingleInstanceLock()) {
  // Another Axon is running: it shows its window (second-instance) and this one leaves.
  app.quit();
} else {
  app.on('second-instance', () => showWindow());
  app.on('activate', () => showWindow()); // macOS: click on the Dock icon
  app.on('window-all-closed', () => {
    /* stay in the tray */
  });
  app.on('before-quit', () => {
    quitting = true;
  });
  app.on('web-contents-created', (_e, contents) => {
    contents.on('will-attach-webview', (ev) => ev.preventDefault());
  });
  app
    .whenReady()
    .then(start)
    .catch((e: unknown) => fatal(e));
}

function showWindow(): void {
  if (!app.isReady() || !host) return; // still starting: the window opens when the node is up
  if (!win || win.isDestroyed()) win = openWindow(true);
  if (win.isMinimized()) win.restore();
  win.show();
  win.focus();
}

function openWindow(show: boolean): BrowserWindow {
  const w = createMainWindow({ preload, indexHtml, icon: join(resourcesDir, 'icon.png'), show });
  w.on('close', (e) => {
    if (quitting) return;
    // Closing keeps Axon (and selling) alive in the tray; say so once.
    e.preventDefault();
    w.hide();
    noteTrayOnce();
  });
  return w;
}

function noteTrayOnce(): void {
  if (!host) return;
  const marker = join(host.paths.root, '.tray-hint-shown');
  if (existsSync(marker)) return;
  writeFileSync(marker, new Date().toISOString());
  notify('Axon is still running', 'Your streams keep selling from the tray. Use Quit in the tray menu to stop.');
}

function notify(title: string, body: string): void {
  if (Notification.isSupported()) new Notification({ title, body, icon: join(resourcesDir, 'icon.png') }).show();
}

async function start(): Promise<void> {
  hardenSession();
  host = await startHost({ electron: { setStartOnLogin }, version: app.getVersion() });
  api = new ApiService(host.backend, {
    onError: (cmd, err) => host?.log.warn({ cmd, err: String(err) }, 'api command failed'),
  });
  if (host.settings.startOnLogin) setStartOnLogin(true);

  ipcMain.handle(IPC_CALL, async (event, command: unknown, args: unknown): Promise<ApiResult> => {
    if (!isOwnPage(event.senderFrame?.url, indexHtml)) {
      return { ok: false, error: { code: 'forbidden', message: 'IPC from an unknown page', hint: 'Restart Axon.' } };
    }
    return api!.call(command, args);
  });

  const policy = new NotificationPolicy();
  api.subscribe((event, payload) => {
    if (win && !win.isDestroyed()) win.webContents.send(IPC_EVENT, event, payload);
    const n = policy.decide(event, payload);
    if (n) notify(n.title, n.body);
    if (event === 'status') updateTray(payload as StatusView);
  });

  tray = new AppTray(resourcesDir, {
    open: showWindow,
    setSellingPaused: (paused) => {
      void api!.call('setSellingPaused', [paused]).then((r) => {
        if (r.ok) updateTray(r.value as StatusView);
      });
    },
    quit: () => {
      quitting = true;
      app.quit();
    },
  });
  const status = await api.call('status', []);
  if (status.ok) updateTray(status.value as StatusView);

  win = openWindow(!startedHidden);
}

function updateTray(status: StatusView): void {
  const t = trayStateFor(status);
  tray?.setState(t.state, t.tooltip);
  tray?.setPaused(status.sellingPaused);
}

function setStartOnLogin(on: boolean): void {
  app.setLoginItemSettings({ openAtLogin: on, args: ['--hidden'] });
}

let closing = false;
app.on('will-quit', (e) => {
  if (closing || !host) return;
  // Stop the node cleanly (delist, close connections, flush SQLite) before leaving.
  e.preventDefault();
  closing = true;
  tray?.destroy();
  api?.close();
  void host.close().finally(() => app.exit(0));
});

function fatal(e: unknown): void {
  const info = toErrorInfo(e);
  console.error('axon: could not start:', e);
  dialog.showErrorBox('Axon could not start', `${info.message}\n\nWhat to do: ${info.hint}`);
  app.exit(1);
}
