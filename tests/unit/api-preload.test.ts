// The preload's wiring (Electron itself cannot run on this machine): what it exposes as
// window.axon, which IPC channel each command takes, and how events and errors come back.
// Electron's two preload objects are replaced by recorders — the only part not real here.
import { describe, expect, it, vi } from 'vitest';
import { COMMAND_NAMES, IPC_CALL, IPC_EVENT, toApiErrorInfo, type AxonApi } from '../../src-shared/contract/api';

const exposed: Record<string, unknown> = {};
const invoked: unknown[][] = [];
const listeners = new Map<string, ((e: unknown, ...a: unknown[]) => void)[]>();

vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, api: unknown) => (exposed[key] = api) },
  ipcRenderer: {
    invoke: async (channel: string, command: string, args: unknown[]) => {
      invoked.push([channel, command, args]);
      return command === 'airdrop'
        ? { ok: false, error: { code: 'no-airdrop', message: 'no airdrops here', hint: 'fund it' } }
        : { ok: true, value: command };
    },
    on: (channel: string, fn: (e: unknown, ...a: unknown[]) => void) =>
      listeners.set(channel, [...(listeners.get(channel) ?? []), fn]),
    off: (channel: string, fn: (e: unknown, ...a: unknown[]) => void) =>
      listeners.set(
        channel,
        (listeners.get(channel) ?? []).filter((f) => f !== fn),
      ),
  },
}));

describe('preload', () => {
  it('exposes every command as window.axon over one IPC channel, with errors and events', async () => {
    await import('../../src-preload/index');
    const axon = exposed.axon as AxonApi;
    expect(Object.keys(exposed)).toEqual(['axon']);
    for (const c of COMMAND_NAMES) expect(typeof axon[c]).toBe('function');

    expect(await axon.payments(3)).toBe('payments');
    expect(invoked).toEqual([[IPC_CALL, 'payments', [3]]]);
    const err = await axon.airdrop(1).catch((e: unknown) => e);
    expect(toApiErrorInfo(err)).toEqual({ code: 'no-airdrop', message: 'no airdrops here', hint: 'fund it' });

    const got: unknown[] = [];
    const off = axon.on('notice', (n) => got.push(n));
    const fire = (...a: unknown[]) => listeners.get(IPC_EVENT)?.forEach((f) => f({}, ...a));
    fire('notice', { title: 'x' });
    fire('not-an-event', { title: 'y' });
    off();
    fire('notice', { title: 'z' });
    expect(got).toEqual([{ title: 'x' }]);
  });
});
