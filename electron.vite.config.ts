// electron-vite 6: builds the Electron main process, the sandboxed preload and the Svelte
// renderer into out/. `npm run build` sets ELECTRON_MAJOR_VER, so the build works even where the
// Electron binary could not be installed (docs/app.md).
import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

const root = import.meta.dirname;

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      // Dependencies (native modules included) stay in node_modules and load at run time.
      externalizeDeps: true,
      rollupOptions: { input: { index: resolve(root, 'src-main/electron/index.ts') } },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      // A sandboxed preload is ONE CommonJS file that requires nothing but 'electron'.
      externalizeDeps: false,
      isolatedEntries: true,
      rollupOptions: {
        input: { index: resolve(root, 'src-preload/index.ts') },
        external: ['electron'],
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(root, 'src-renderer'),
    // Relative asset URLs: the same build loads from file:// in Electron and from
    // /t/<token>/ in the headless UI.
    base: './',
    plugins: [svelte()],
    build: {
      outDir: resolve(root, 'out/renderer'),
      emptyOutDir: true,
      rollupOptions: { input: { index: resolve(root, 'src-renderer/index.html') } },
    },
  },
});
