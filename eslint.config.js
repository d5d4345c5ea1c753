// ESLint flat config: TypeScript everywhere (typescript-eslint), Svelte 5 components
// (eslint-plugin-svelte), formatting left to Prettier (`npm run lint` runs both). The import
// rules below enforce the layering of docs/architecture.md.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';

const NO_ELECTRON = { name: 'electron', message: 'src-main/core runs in plain Node' };
const HOSTS = ['api', 'bridge', 'cli', 'electron', 'local-ledger'].map((d) => `**/${d}/**`);

/**
 * The direction rule: market → net → ledger → identity/store. Each core layer may import its own
 * layer and those below it, never one above, never a host (api, bridge, cli, electron) or the
 * local ledger (a product of its own), never Electron. One complete rule per folder, because a
 * later config object replaces the rule for its files.
 */
function coreLayers() {
  const above = {
    market: [],
    net: ['market'],
    ledger: ['market', 'net'],
    identity: ['market', 'net', 'ledger'],
    store: ['market', 'net', 'ledger'],
  };
  const rule = (group, message) => [
    'error',
    { paths: [NO_ELECTRON], patterns: [{ group: [...HOSTS, ...group], message }] },
  ];
  return [
    {
      files: ['src-main/core/**/*.ts'],
      rules: { 'no-restricted-imports': rule([], 'core never imports its hosts or the local ledger') },
    },
    ...Object.entries(above).map(([layer, ups]) => ({
      files: [`src-main/core/${layer}/**/*.ts`],
      rules: {
        'no-restricted-imports': rule(
          ['../node', '../../node', ...ups.flatMap((u) => [`../${u}`, `../${u}/**`, `../../${u}`, `../../${u}/**`])],
          `${layer} imports only its own layer and those below it: market → net → ledger → identity/store (docs/architecture.md)`,
        ),
      },
    })),
  ];
}

/**
 * The one front door (docs/architecture.md "One front door"): the api layer and the CLI reach a
 * node through AxonNode (core/node.ts) or NodeView (core/node-view.ts). Besides those they may
 * import from core only: types (any module), the host's start-up before a node exists (paths,
 * settings, log, lock, keystore, ledger endpoints and RPC secrets), and from a few modules named
 * error classes and pure value helpers — each listed here.
 */
function hostImports() {
  const startUp = ['paths', 'settings', 'log', 'lock', 'identity/keystore', 'ledger/cluster', 'ledger/rpc-secret'];
  const named = {
    'identity/identity': ['IdentityError', 'peerIdToAddress'],
    'ledger/assets': ['formatAmount', 'parseAmount', 'knownAsset', 'SOL'],
    'ledger/client': ['LedgerPostError', 'AirdropNotServedError'],
    'ledger/rpc': ['PUBLIC_RPC_PACING'],
    'market/types': ['MarketError'],
    'market/preview': ['PreviewError', 'PREVIEW_LIMITS'],
    'market/sources/index': ['SourceConfigSchema', 'parseSourceSpec'],
    'store/portmap': ['portMapLabel'],
  };
  const message = 'api and cli reach a node through AxonNode or NodeView (docs/architecture.md "One front door")';
  return {
    files: ['src-main/api/**/*.ts', 'src-main/cli/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(\\.\\./)+core/(?!(${['node', 'node-view', ...startUp, ...Object.keys(named)].join('|')})$)`,
              allowTypeImports: true,
              message,
            },
            ...Object.entries(named).map(([m, names]) => ({
              group: [`**/core/${m}`],
              allowImportNames: names,
              allowTypeImports: true,
              message: `${message}; from core/${m} only ${names.join(', ')}`,
            })),
          ],
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['node_modules/', 'out/', 'dist/', 'test-artifacts/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'TSEnumDeclaration', message: 'no enums: use string unions' }],
    },
  },
  {
    // The renderer runs in a browser (or a sandboxed Electron page): DOM globals, no Node.
    files: ['src-renderer/**/*.{ts,svelte}', 'src-renderer/**/*.svelte.ts'],
    languageOptions: {
      globals: { ...globals.browser },
      parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] },
    },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/src-main/**', '**/src-preload/**', 'node:*', 'electron'],
              message: 'the renderer knows only the API contract (src-shared/contract)',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser } },
  },
  {
    // The shared contract runs in main, preload and renderer: pure TypeScript, no imports.
    files: ['src-shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/src-main/**', '**/src-preload/**', '**/src-renderer/**', 'node:*', 'electron'],
              message: 'src-shared runs in main, preload and renderer: no Node, Electron or app imports',
            },
          ],
        },
      ],
    },
  },
  ...coreLayers(),
  hostImports(),
  {
    // AxonNode.internalsForTests exists for tests that play a hostile peer; the product never uses it
    files: ['src-main/**/*.ts', 'src-shared/**/*.ts', 'src-preload/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'no enums: use string unions' },
        {
          selector: "MemberExpression[property.name='internalsForTests']",
          message: "AxonNode's insides are for tests only: use its public methods",
        },
      ],
    },
  },
  {
    files: ['scripts/**/*.mjs', 'bin/**/*.mjs'],
    languageOptions: { globals: { ...globals.node } },
  },
);
