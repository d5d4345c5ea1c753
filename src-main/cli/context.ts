// Runs in: Node (the `axon` command). What every subcommand needs: data dir, settings, logger,
// identity. Opened lazily so that `axon --help` touches nothing.
import { ensureDataDir, resolveDataDir, type DataPaths } from '../core/paths';
import { loadSettings, type Settings } from '../core/settings';
import { createLogger, type Logger } from '../core/log';
import { openIdentity, type OpenedIdentity } from '../core/identity/keystore';

export interface GlobalOptions {
  dataDir?: string;
  logLevel?: string;
  keystore?: 'auto' | 'keychain' | 'file';
}

/** An error the user can fix: printed as one line `axon: <message>`, exit code `exitCode`. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface CliContext {
  /** The global options the context was made from. */
  global: GlobalOptions;
  paths: DataPaths;
  settings: Settings;
  log: Logger;
  identity(): OpenedIdentity;
}

export function cliContext(g: GlobalOptions): CliContext {
  const paths = ensureDataDir(resolveDataDir(g.dataDir));
  const settings = loadSettings(paths.settings);
  // The log file gets everything at the chosen level; the terminal only warnings and errors.
  const log = createLogger({ level: g.logLevel, file: paths.log, stderr: false });
  let opened: OpenedIdentity | undefined;
  return {
    global: g,
    paths,
    settings,
    log,
    identity() {
      if (!opened) {
        opened = openIdentity({ dataDir: paths.root, store: g.keystore, log });
        if (opened.fallbackReason) {
          process.stderr.write(
            `note: no OS keychain is available (${opened.fallbackReason}).\n` +
              `      The identity key is kept in ${opened.store.where} instead.\n`,
          );
        }
      }
      return opened;
    },
  };
}
