// ESLint flat config: typescript-eslint's recommended rules (syntax only, no type information, so
// `npm run lint` stays fast on a 2-core machine) plus the import boundaries of docs/contributing.md.
// Formatting is Prettier's job (.prettierrc.json); none of the rules here touch layout.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// Import boundaries, one entry per source directory. no-restricted-imports matches the specifier as
// written, so the patterns match relative paths ('../metrics/x.js') with gitignore-style globs.
// A file gets one no-restricted-imports setting (a later block replaces an earlier one), so each
// directory repeats the rules every src/ file shares.
const srcWide = [
  { group: ['**/test/**', '**/bench/**', '**/scripts/**'], message: 'src/ never imports test, benchmark or script code.' },
  { group: ['**/cli/**'], message: 'src/cli is the top of the program: only src/cli imports it.' },
];
const notDaemon = { group: ['**/daemon/**'], message: 'src/daemon is the program run by src/cli; only src/cli and src/daemon import it.' };

function boundary(files, patterns) {
  return { files, rules: { 'no-restricted-imports': ['error', { patterns }] } };
}

export default defineConfig(
  { ignores: ['dist/', 'node_modules/', 'addon/build/', 'bench/build/', 'bench/out/', 'test/out/', 'tools/build/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.js'],
    rules: {
      // The packet path states its check-once contracts and then reads with `!`.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // `_name` marks a parameter an interface requires but this implementation does not need.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // `let x; t.after(() => x?.stop()); x = await start()`: the clean-up is registered before the start can throw.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  // Tests match terminal output on purpose: ANSI escapes (\x1b) and man's overstrike (\x08).
  { files: ['test/**/*.ts'], rules: { 'no-control-regex': 'off' } },
  boundary(['src/**/*.ts'], [...srcWide, notDaemon]),
  boundary(['src/cli/**/*.ts', 'src/daemon/**/*.ts'], srcWide),
  // Wire formats: views over bytes, no Node API, no package, nothing of ours outside src/packet.
  boundary(['src/packet/**/*.ts'], [{ regex: '^(?!\\./)', message: 'src/packet imports nothing outside itself (only ./ paths).' }]),
  // Configuration is parsed without the runtime, so check-config runs anywhere.
  boundary(
    ['src/config/**/*.ts'],
    [...srcWide, { regex: '^\\.\\./', message: 'src/config imports nothing of ours outside itself (yaml and node: only).' }],
  ),
  // The transport carries batches and verdicts; counting and policy live above it.
  boundary(
    ['src/queue/**/*.ts', 'src/native/**/*.ts'],
    [
      ...srcWide,
      notDaemon,
      {
        group: ['**/metrics/**', '**/rules/**', '**/packet/**', '**/firewall/**', '**/config/**'],
        message: 'src/queue and src/native are the transport: they know neither metrics nor policy nor packet contents.',
      },
    ],
  ),
  // Rules decide over parsed packets and configuration only.
  boundary(
    ['src/rules/**/*.ts'],
    [
      ...srcWide,
      notDaemon,
      {
        group: ['**/queue/**', '**/native/**', '**/metrics/**', '**/firewall/**', '**/pmtu/**', '**/log/**'],
        message: 'src/rules decides from packets and configuration only; the daemon wires it to everything else.',
      },
    ],
  ),
  // Offline tools: they read capture files and must run without the addon, root or a running daemon.
  boundary(
    ['src/capture/**/*.ts', 'src/explain/**/*.ts'],
    [
      ...srcWide,
      notDaemon,
      {
        group: ['**/queue/**', '**/native/**', '**/firewall/**', '**/metrics/**', '**/pmtu/**', '**/lifecycle/**'],
        message: 'src/capture and src/explain work on capture files, without the addon or the daemon.',
      },
    ],
  ),
);
