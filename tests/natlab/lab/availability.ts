// Runs in: Node (test harness). Can this machine run the NAT lab, and which kernel features
// does it have? The answers are plain sentences: a lab that cannot run fails with them.
import { nsRun, nsScript, run, runSyncQuiet } from './exec';
import type { Availability } from './types';

/** Linux, root, the tools, and a namespace with nftables; else `{ ok: false, reason }`. */
export async function checkAvailability(): Promise<Availability> {
  if (process.platform !== 'linux')
    return { ok: false, reason: `the NAT lab needs Linux (this is ${process.platform})` };
  if (process.getuid?.() !== 0) {
    return { ok: false, reason: 'the NAT lab needs root (network namespaces, nftables): run it as root, e.g. in CI' };
  }
  for (const tool of ['ip', 'nft', 'turnserver', 'ss']) {
    if (!runSyncQuiet('sh', ['-c', `command -v ${tool}`]).trim()) {
      return {
        ok: false,
        reason: `\`${tool}\` not found: \`npm run test:natlab\` installs it (apt-get install -y iproute2 nftables coturn)`,
      };
    }
  }
  const probe = `natlab-probe-${process.pid}`;
  try {
    await run('ip', ['netns', 'add', probe]);
    await run('ip', ['netns', 'exec', probe, 'nft', 'list', 'ruleset']);
  } catch (err) {
    return { ok: false, reason: `cannot create a network namespace with nftables: ${(err as Error).message}` };
  } finally {
    runSyncQuiet('ip', ['netns', 'delete', probe]);
  }
  return { ok: true };
}

let netemCache: boolean | undefined;

/** Whether `tc … netem` works on this kernel (probed once, on a throwaway veth pair in `ns`). */
export async function netemAvailable(ns: string): Promise<boolean> {
  if (netemCache === undefined) {
    try {
      await nsScript(ns, [
        'ip link add name nmprobe0 type veth peer name nmprobe1',
        'tc qdisc add dev nmprobe0 root netem delay 1ms',
      ]);
      netemCache = true;
    } catch {
      netemCache = false;
    } finally {
      await nsRun(ns, 'ip', ['link', 'del', 'nmprobe0']).catch(() => undefined);
    }
  }
  return netemCache;
}
