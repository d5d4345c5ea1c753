// Runs in: Electron main. The app window, locked down as Electron's security checklist asks:
// contextIsolation, sandbox, no Node in the page, a bundled preload, navigation and new windows
// blocked (explorer links open in the user's browser), no permissions, no <webview>.
import { BrowserWindow, session, shell } from 'electron';
import { isAllowedExternal, isOwnPage } from '../api/window-policy';

export function hardenSession(): void {
  // No camera, microphone, notifications-from-page, geolocation…: the UI needs none.
  session.defaultSession.setPermissionRequestHandler((_wc, permission, cb) =>
    cb(permission === 'clipboard-sanitized-write'),
  );
  session.defaultSession.setPermissionCheckHandler((_wc, permission) => permission === 'clipboard-sanitized-write');
}

export function createMainWindow(opts: {
  preload: string;
  indexHtml: string;
  icon?: string;
  show: boolean;
}): BrowserWindow {
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
  win.webContents.on('will-navigate', (e, url) => {
    if (!isOwnPage(url, opts.indexHtml)) e.preventDefault();
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
