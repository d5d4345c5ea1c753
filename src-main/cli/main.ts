// Runs in: Node. The `axon` command line: `axon --help` lists the commands.
import { Command, CommanderError, Option } from 'commander';
import { cliContext, type GlobalOptions } from './context';
import { showId, importId, exportId } from './commands/id';
import { SettingsError } from '../core/settings';
import { IdentityError } from '../core/identity/identity';

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
    .description('replace the identity by a Solana CLI keypair file (JSON array of 64 bytes)')
    .action((file: string) => importId(cliContext(g()), file, g()));
  id.command('export [file]')
    .description('write the keypair in the Solana CLI format (to FILE with mode 0600, or stdout)')
    .action((file?: string) => exportId(cliContext(g()), file));

  return p;
}

/** Run the CLI; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const p = program();
  try {
    await p.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander already printed the message (unknown command, bad flag, missing argument).
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof SettingsError || e instanceof IdentityError) {
      console.error(`axon: ${e.message}`);
      return 1;
    }
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT' && err.path) {
      console.error(`axon: no such file: ${err.path}`);
      return 1;
    }
    console.error(`axon: ${err.message ?? String(e)}`);
    return 1;
  }
}
