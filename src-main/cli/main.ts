// Runs in: Node. The `axon` command line: `axon --help` lists the commands.
import { Command, CommanderError, Option } from 'commander';
import { cliContext, CliError, type GlobalOptions } from './context';
import { showId, importId, exportId } from './commands/id';
import { ledgerCommand, listenHost } from './commands/ledger';
import { serveCommand } from './commands/serve';
import { sellCommand, type SellCliOptions } from './commands/sell';
import { rebroadcastCommand, type RebroadcastCliOptions } from './commands/rebroadcast';
import { listingsCommand, checkTier, type ListingsOptions } from './commands/listings';
import { buyCommand, type BuyCliOptions } from './commands/buy';
import { previewCommand, type PreviewCliOptions } from './commands/preview';
import { statusCommand } from './commands/status';
import { walletCommand } from './commands/wallet';
import { rpcCommand } from './commands/rpc';
import { demoCommand, type DemoOptions } from './commands/demo';
import { parsePositiveInt, safeText } from './format';
import { SettingsError } from '../core/settings';
import { IdentityError } from '../core/identity/identity';
import { MarketError } from '../core/market/types';
import { LedgerPostError } from '../core/ledger/client';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
const port = (v: string): number => parsePositiveInt(v, 'a port', 65535);

function program(): Command {
  const p = new Command('axon')
    .description('Axon: a marketplace for live data streams, peer to peer, paid on Solana.')
    .option('--data-dir <dir>', 'data directory (default: per-OS data dir, or $AXON_DATA_DIR)')
    .option('--log-level <level>', 'log level for the log file (trace, debug, info, warn, error)')
    .addOption(new Option('--keystore <kind>', 'where to keep the key').choices(['auto', 'keychain', 'file']))
    .showHelpAfterError('(run `axon --help` for the list of commands)')
    .showSuggestionAfterError(true)
    .exitOverride();
  const g = (): GlobalOptions => p.opts<GlobalOptions>();

  const id = p
    .command('id')
    .description("show this installation's address, PeerId and where its key is stored")
    .option('--json', 'print JSON')
    .action((o: { json?: boolean }) => showId(cliContext(g()), !!o.json));
  id.command('import <file>')
    .description(
      'replace the identity by a Solana CLI keypair file (JSON array of 64 bytes); the current key is kept in a dated 0600 backup file in the data dir',
    )
    .option('--discard-old', 'do not keep a backup of the current key')
    .action((file: string, o: { discardOld?: boolean }) => importId(cliContext(g()), file, g(), o));
  id.command('export [file]')
    .description('write the keypair in the Solana CLI format (to FILE with mode 0600, or stdout)')
    .option('--force', 'replace FILE if it exists')
    .action((file: string | undefined, o: { force?: boolean }) => exportId(cliContext(g()), file, o));

  p.command('ledger')
    .description('run the local Solana-compatible ledger (JSON-RPC on PORT, pubsub on PORT+1) until Ctrl+C')
    .option('--port <port>', 'JSON-RPC port (default: the localLedgerPort setting, 8899)')
    .option('--host <addr>', 'listen address (default 127.0.0.1; 0.0.0.0 or an interface address to share the ledger)')
    .action(async (o: { port?: string; host?: string }) => {
      const ctx = cliContext(g());
      await ledgerCommand({
        port: o.port !== undefined ? port(o.port) : ctx.settings.localLedgerPort,
        ...(o.host !== undefined ? { host: listenHost(o.host) } : {}),
        dataDir: ctx.paths.ledger,
        log: ctx.log,
      });
    });

  p.command('serve')
    .description(
      'run the node headless (starts the embedded ledger if none answers); --ui also serves the app on loopback',
    )
    .option('--ui', 'serve the UI and its API on 127.0.0.1 and print the URL with its access token')
    .option('--port <port>', 'UI port (default: the uiPort setting; 0 = any free port)')
    .option('--no-demo', 'no demo seller next to the embedded local ledger')
    .action(async (o: { ui?: boolean; port?: string; demo?: boolean }) => {
      const { dataDir, logLevel } = g();
      await serveCommand({
        dataDir,
        logLevel,
        ui: !!o.ui,
        demo: o.demo !== false,
        ...(o.port !== undefined ? { port: o.port === '0' ? 0 : port(o.port) } : {}),
      });
    });

  p.command('sell')
    .description('sell a live stream: publish a listing and serve buyers until Ctrl+C')
    .requiredOption(
      '--source <spec>',
      'aircraft | weather | file:PATH | cmd:"COMMAND ARGS" | tcp:[HOST:]PORT | udp:[HOST:]PORT | ws:URL | mqtt://[USER:PASS@]HOST[:PORT]/TOPIC/FILTER; file, cmd and tcp may end in ,raw ,lines or ,length-prefixed',
    )
    .requiredOption('--title <title>', 'the title buyers see')
    .option(
      '--price-direct <price>',
      'price per minute, direct tier (lamports, or e.g. 0.001sol; with --asset usdc: base units, or e.g. 0.01usdc) (default: 60000 lamports, or 0.01 USDC)',
    )
    .option(
      '--asset <asset>',
      "what the stream is priced in: sol (default) | usdc (the cluster's USDC mint) | a mint address",
    )
    .option('--price-relay <lamports>', 'price per minute, rebroadcast tier (default: half the direct price)')
    .option('--period <seconds>', 'pay-as-you-go period (default 60)')
    .option('--capacity <n>', 'most buyers at once (default 50)')
    .option('--upload <KiB/s>', 'upload budget of the stream (default: settings mesh.uploadKiBps, 2048)')
    .option('--stream-id <id>', 'stream id (default: from the title)')
    .option('--description <text>', 'a longer description')
    .option('--tag <tag>', 'a tag (repeatable)', collect)
    .option('--format <mime>', 'MIME type of the frames (default: from the source)')
    .option(
      '--uplink [buyers]',
      "take buyers' messages to the source (all buyers, or these addresses, comma separated)",
    )
    .option('--uplink-rate <n>', 'most uplink messages per second per buyer (default 10)')
    .option('--uplink-topic <topic>', "mqtt source: the topic buyers' messages are published to")
    .option(
      '--schema <fields>',
      "what the frames hold, fields with units: 'alt_baro ft, gs kt, flight text' (default: inferred from the first frames)",
    )
    .option('--no-preview', 'buyers cannot preview a few recent frames before buying')
    .action((o: SellCliOptions) => sellCommand(cliContext(g()), o));

  p.command('listings')
    .description('list the live streams on the market (a table; --json for scripts)')
    .option('--search <text>', 'free text over title, description, tags, stream id')
    .option('--tag <tag>', 'only listings with this tag')
    .option('--format <mime>', 'only this format, e.g. application/x-ndjson')
    .option('--max-price <lamports>', 'at most this price per minute (on --tier)')
    .option('--tier <tier>', 'direct | relay (price filter; relay: only listings with a rebroadcast price)')
    .option('--fresh <seconds>', 'only listings refreshed within this many seconds')
    .option('--all', "include this installation's own listings")
    .option('--json', 'print JSON (lamports as strings)')
    .action((o: ListingsOptions) => listingsCommand(cliContext(g()), { ...o, tier: checkTier(o.tier) }));

  p.command('preview <listing>')
    .description(
      'a few recent frames of a listing, fetched from its seller peer to peer before buying (free, rate-limited)',
    )
    .option('--frames <n>', 'how many recent frames (1-10, default 5)')
    .option('--json', 'print JSON (frames as base64)')
    .action((listing: string, o: PreviewCliOptions) => previewCommand(cliContext(g()), listing, o));

  p.command('buy <listing>')
    .description(
      'buy a stream (listing id SELLER:STREAM, or a unique stream id) and print its frames until it ends or Ctrl+C',
    )
    .option('--minutes <n>', 'most minutes to buy (default 60)')
    .option('--max-lamports <lamports>', 'spending cap (default: the price of --minutes)')
    .option('--tier <tier>', "direct | relay (buy a relay's rebroadcast)")
    .option('--out <file>', 'append the frames to FILE (NDJSON with metadata) instead of printing them')
    .option('--serve', 'serve the frames on the local endpoint (WebSocket + TCP on 127.0.0.1) instead of printing them')
    .option('--raw-tcp <[host:]port>', "serve the device's exact bytes on this TCP port (0: any free port)")
    .option('--raw-udp <[host:]port>', 'send each frame as one UDP datagram to HOST:PORT (default host 127.0.0.1)')
    .option('--raw-file <file>', "append the device's exact bytes to FILE")
    .option('--mqtt <url>', 'publish each frame to a broker: mqtt://[USER:PASS@]HOST[:PORT]/TOPIC')
    .option('--again', 'buy although a purchase of this stream is still running (pays for it twice)')
    .action((listing: string, o: BuyCliOptions) => buyCommand(cliContext(g()), listing, o));

  p.command('rebroadcast <listing>')
    .description(
      'buy a stream once and sell it again as a rebroadcast naming its origin (an origin or another rebroadcast; at most 3 hops, no loops) until Ctrl+C',
    )
    .option('--price <lamports>', "price per minute to your buyers (default: the upstream's rebroadcast price)")
    .option('--minutes <n>', 'most minutes to buy upstream (default 60)')
    .option('--max-lamports <lamports>', 'spending cap upstream (default: the price of --minutes)')
    .option('--capacity <n>', 'most buyers at once (default 200)')
    .option(
      '--upload <KiB/s>',
      'upload budget: past it new buyers are sent to other rebroadcasts (default: settings mesh.uploadKiBps)',
    )
    .action((listing: string, o: RebroadcastCliOptions) => rebroadcastCommand(cliContext(g()), listing, o));

  p.command('status')
    .description('purchases, sales, and peers with the path of their connection (direct, hole-punched, relayed)')
    .option('--all', 'all purchases and sales, not only the newest 20')
    .option('--json', 'print JSON (lamports as strings)')
    .action((o: { json?: boolean; all?: boolean }) => statusCommand(cliContext(g()), o));

  p.command('wallet [action] [amount]')
    .description(
      'wallet: balance (default; SOL and USDC) | airdrop [LAMPORTS] (local ledger, devnet; default 1 SOL) | faucet [USDC] (local ledger; default 100 USDC) | history',
    )
    .option('--json', 'print JSON (lamports as strings)')
    .action((action: string | undefined, amount: string | undefined, o: { json?: boolean }) =>
      walletCommand(cliContext(g()), action, amount, o),
    );

  p.command('rpc [action] [value]')
    .description(
      'the ledger endpoint: show (default) | url URL|none | ws URL|none | key-url [URL] (API-key URL, kept in the keychain; read from stdin when not given) | clear-key | fee-cap LAMPORTS',
    )
    .option('--json', 'print JSON')
    .action((action: string | undefined, value: string | undefined, o: { json?: boolean }) =>
      rpcCommand(cliContext(g()), action, value, o),
    );

  p.command('demo')
    .description('a local ledger, a seller and a buyer in one process: the live stream, the path and each payment')
    .option('--seconds <n>', 'stop by itself after N seconds of streaming (default: run until Ctrl+C)')
    .option('--source <spec>', 'what the demo seller sells (default: aircraft)')
    .option(
      '--asset <asset>',
      "what the demo stream is priced in: sol (default) | usdc (the local ledger's USDC, from its faucet)",
    )
    .action((o: DemoOptions) => demoCommand(cliContext(g()), o));

  p.addHelpText(
    'after',
    `
Try it on one machine:
  axon demo                                   everything in one process
  axon ledger                                 terminal 1: the local ledger
  axon --data-dir /tmp/s sell --source aircraft --title "Aircraft"    terminal 2
  axon --data-dir /tmp/b wallet airdrop && axon --data-dir /tmp/b listings
  axon --data-dir /tmp/b buy <ID from the listings>                   terminal 3`,
  );
  return p;
}

/** Run the CLI; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const standalone = /axon(\.mjs)?$/.test(process.argv[1] ?? '');
  // A background task of the node that fails late (e.g. after shutdown closed the database) must
  // not crash a command that is otherwise done: say it in one line instead.
  const onLate = (e: unknown): void => {
    const msg = (e as Error)?.message ?? String(e);
    if (!/database connection is not open/.test(msg))
      process.stderr.write(`axon: warning: a background task failed: ${safeText(msg)}\n`);
  };
  if (standalone) process.on('unhandledRejection', onLate);
  const code = await run(argv);
  // Run as the `axon` process: if some handle (a socket, a native thread) outlives the command,
  // do not hang — exit shortly after the command is done.
  if (standalone) setTimeout(() => process.exit(code), 2000).unref();
  return code;
}

/** An error line may carry a stranger's words (a seller's reason, a peer error): no escapes. */
function printError(text: string): void {
  console.error(
    text
      .split('\n')
      .map((l) => safeText(l))
      .join('\n'),
  );
}

async function run(argv: string[]): Promise<number> {
  const p = program();
  try {
    await p.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander already printed the message (unknown command, bad flag, missing argument).
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof CliError) {
      printError(`axon: ${e.message}`);
      return e.exitCode;
    }
    if (e instanceof MarketError) {
      printError(`axon: ${e.message}`);
      return 1;
    }
    if (e instanceof LedgerPostError) {
      printError(`axon: the ledger refused or lost a transaction: ${e.message}`);
      return 1;
    }
    if (e instanceof SettingsError || e instanceof IdentityError) {
      printError(`axon: ${e.message}`);
      return 1;
    }
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT' && err.path) {
      printError(`axon: no such file: ${err.path}`);
      return 1;
    }
    printError(`axon: ${err.message ?? String(e)}`);
    return 1;
  }
}
