// Runs in: Electron main. The app window, locked down as Electron's security checklist asks:
// contextIsolation, sandbox, no Node in the page, a bundled preload, navigation and new windows
// blocked (explorer links open in the user's browser), no permissions, no <webview>.
import { BrowserWindow, session, shell } from 'electron';
import { pathToFileURL } from 'node:url';

/** Links the renderer may open in the system browser: block explorers only. */
const EXTERNAL_HOSTS = new Set(['explorer.solana.com', 'solscan.io', 'solana.fm']);

export function isAllowedExternal(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' && EXTERNAL_HOSTS.has(u.hostname);
  } catch {
    return false;
  }
}

export function hardenSession(): void {
  // No camera, microphone, notifications-from-page, geolocation…: the UI needs none.
  session.defaultSession.setPermissionRequestHandler((_wc, permission, cb) => cb(permission === 'clipboard-sanitized-write'));
  session.defaultSession.setPermissionCheckHandler((_wc, permission) => permission === 'clipboard-sanitized-write');
}

export function createMainWindow(opts: { preload: string; indexHtml: string; icon?: string; show: boolean }): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'Axon',
    icon: opts.icon,
    backgroundColor: '#f5f7fb',
    autoHideMenuBar: true,
    webPreferences: {
      preload: opts.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
      navigateOnDragDrop: false,
    },
  });
  const indexUrl = pathToFileURL(opts.indexHtml).href;
  win.webContents.on('will-navigate', (e, url) => {
    if (url.split('#')[0] !== indexUrl) e.preventDefault();
  });
  win.webContents.on('will-redirect', (e) => e.preventDefault());
  win.webContents.on('will-attach-webview', (e) => e.preventDefault());
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (isAllowedExternal(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  win.once('ready-to-show', () => {
    if (opts.show) win.show();
  });
  void win.loadFile(opts.indexHtml);
  return win;
}

/** The IPC sender must be our own page, loaded from our own file. */
export function isOwnFrame(frameUrl: string | undefined, indexHtml: string): boolean {
  if (!frameUrl) return false;
  return frameUrl.split('#')[0] === pathToFileURL(indexHtml).href;
}
