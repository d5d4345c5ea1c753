#!/usr/bin/env node
// The `axon` command. Axon needs Node >= 22 (libp2p 3); when started by an older Node, re-run
// under the Node 22 that the project pins (the `node` dev dependency), so a machine whose system
// Node is older still works. That child stands in for this process: signals sent to this pid
// reach it, this process exits as it does, and the child stops if this process is killed outright
// (SIGKILL). TypeScript sources run through tsx.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  const pinned = join(root, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(pinned)) {
    console.error(
      `axon needs Node 22 or newer (this is ${process.version}); run \`npm install\` in ${root} to get the pinned Node 22`,
    );
    process.exit(1);
  }
  const { runInPlace } = await import('../scripts/run-child.mjs');
  runInPlace(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    env: { ...process.env, AXON_LAUNCHER_PID: String(process.pid) },
  });
} else {
  watchLauncher();
  quietOnClosedPipe();
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../src-main/cli/main.ts');
  process.exitCode = await main(process.argv.slice(2));
}

/**
 * Run by the launcher above: if the launcher dies without passing a signal on (SIGKILL), this
 * process is re-parented; stop then as on SIGTERM rather than serve on, orphaned.
 */
function watchLauncher() {
  const launcher = Number(process.env.AXON_LAUNCHER_PID);
  delete process.env.AXON_LAUNCHER_PID;
  if (!launcher) return;
  const timer = setInterval(() => {
    if (process.ppid === launcher) return;
    clearInterval(timer);
    process.kill(process.pid, 'SIGTERM');
  }, 500);
  timer.unref();
}

/**
 * `axon … | head -1`: when the reader goes away, writes fail with EPIPE. End quietly, as a Unix
 * tool ended by SIGPIPE does — through the command's own Ctrl+C / SIGTERM path when it has one
 * (a running node shuts down cleanly), else at once with the exit code set so far.
 */
function quietOnClosedPipe() {
  let closed = false;
  const onError = (err) => {
    if (err?.code !== 'EPIPE') throw err;
    if (closed) return;
    closed = true;
    if (process.listenerCount('SIGTERM') > 0) process.kill(process.pid, 'SIGTERM');
    else process.exit(process.exitCode ?? 0);
  };
  process.stdout.on('error', onError);
  process.stderr.on('error', onError);
}
