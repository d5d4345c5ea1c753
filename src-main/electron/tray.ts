// Runs in: Electron main. The tray: its icon says serving / idle / error; its menu has Open,
// Pause selling and Quit. The seller keeps serving from here after the window is closed.
import { Menu, Tray, nativeImage, type NativeImage } from 'electron';
import { join } from 'node:path';
import type { TrayState } from '../api/notify-policy';

export interface TrayActions {
  open(): void;
  setSellingPaused(paused: boolean): void;
  quit(): void;
}

export class AppTray {
  readonly #tray: Tray;
  readonly #icons: Record<TrayState, NativeImage>;
  readonly #actions: TrayActions;
  #paused = false;

  constructor(resourcesDir: string, actions: TrayActions) {
    const load = (s: TrayState) => nativeImage.createFromPath(join(resourcesDir, `tray-${s}.png`));
    this.#icons = { serving: load('serving'), idle: load('idle'), error: load('error') };
    this.#actions = actions;
    this.#tray = new Tray(this.#icons.idle);
    this.#tray.setToolTip('Axon');
    this.#tray.on('click', () => actions.open());
    this.#rebuildMenu();
  }

  setState(state: TrayState, tooltip: string): void {
    this.#tray.setImage(this.#icons[state]);
    this.#tray.setToolTip(tooltip);
  }

  setPaused(paused: boolean): void {
    if (paused === this.#paused) return;
    this.#paused = paused;
    this.#rebuildMenu();
  }

  #rebuildMenu(): void {
    this.#tray.setContextMenu(
      Menu.buildFromTemplate([
        { label: 'Open Axon', click: () => this.#actions.open() },
        {
          label: 'Pause selling',
          type: 'checkbox',
          checked: this.#paused,
          click: (item) => this.#actions.setSellingPaused(item.checked),
        },
        { type: 'separator' },
        { label: 'Quit Axon', click: () => this.#actions.quit() },
      ]),
    );
  }

  destroy(): void {
    this.#tray.destroy();
  }
}
