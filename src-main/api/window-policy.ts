// Runs in: Node (used by Electron main; free of Electron so it is tested in plain Node).
// What the app window may open and who may talk to the main process.
import { pathToFileURL } from 'node:url';

/** Links the renderer may open in the system browser: block explorers, https only. */
const EXTERNAL_HOSTS = new Set(['explorer.solana.com', 'solscan.io', 'solana.fm']);

export function isAllowedExternal(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' && EXTERNAL_HOSTS.has(u.hostname) && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}

/** The IPC sender (or a navigation target) must be our own page, loaded from our own file. */
export function isOwnPage(url: string | undefined, indexHtml: string): boolean {
  if (!url) return false;
  return url.split('#')[0] === pathToFileURL(indexHtml).href;
}
