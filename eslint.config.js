// Folder boundaries from ARCHITECTURE.md are enforced here, so they hold after the tenth
// contributor: shared/ is platform-free, electron/core/ runs without Electron and without a
// DOM, renderer/ reaches the core only through the IPC contract.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

const NODE_BUILTINS = [
  'assert', 'buffer', 'child_process', 'cluster', 'crypto', 'dgram', 'dns', 'events', 'fs', 'fs/promises',
  'http', 'http2', 'https', 'net', 'os', 'path', 'perf_hooks', 'process', 'readline', 'stream', 'tls',
  'url', 'util', 'worker_threads', 'zlib',
];
const nodeModules = NODE_BUILTINS.map((name) => ({ name, message: 'Node built-ins are not available here.' }));
const nativeAndServer = ['better-sqlite3', 'pg', 'kysely', 'fastify', 'ws', 'electron'].map((name) => ({
  name,
  message: 'Platform-specific module: not allowed in this folder.',
}));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-results/**', 'playwright-report/**', 'e2e/output/**', '.data/**', 'bench/data/**', '.scratch/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'off',
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.property.name='only'][callee.object.name=/^(it|test|describe)$/]", message: 'No .only in committed tests.' },
      ],
    },
  },
  {
    files: ['shared/**/*.ts'],
    languageOptions: { globals: {} },
    rules: {
      'no-restricted-imports': ['error', { paths: [...nodeModules, ...nativeAndServer, { name: 'react', message: 'shared/ is UI-free.' }], patterns: [{ group: ['node:*'], message: 'shared/ imports nothing platform-specific.' }, { group: ['../backend/*', '../electron/*', '../renderer/*'], message: 'shared/ depends on nothing else in the repo.' }] }],
    },
  },
  {
    files: ['electron/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'electron', message: 'electron/core must run without Electron (browser shell, tests).' }, { name: 'react', message: 'The core never touches the DOM.' }, { name: 'react-dom', message: 'The core never touches the DOM.' }], patterns: [{ group: ['../../renderer/*', '**/renderer/**'], message: 'The core does not import the renderer.' }] }],
      'no-restricted-globals': ['error', 'window', 'document', 'navigator', 'localStorage'],
    },
  },
  {
    files: ['electron/browser-shell/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'electron', message: 'The browser shell runs where Electron cannot.' }] }],
    },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    ignores: ['renderer/**/*.test.{ts,tsx}', 'renderer/src/test/**'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'no-restricted-imports': ['error', { paths: [...nodeModules, ...nativeAndServer], patterns: [{ group: ['node:*'], message: 'The renderer reaches the machine only through window.tsunagu.' }, { group: ['**/electron/**', '**/backend/**'], message: 'The renderer talks to the core through the IPC contract only.' }] }],
    },
  },
  {
    // The customer portal: a browser page like the renderer, with neither Node nor the staff app's code.
    files: ['portal/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'no-restricted-imports': ['error', { paths: [...nodeModules, ...nativeAndServer], patterns: [{ group: ['node:*'], message: 'The portal is a web page.' }, { group: ['**/electron/**', '**/backend/**', '**/renderer/**'], message: 'The portal shares only shared/ with the rest.' }] }],
    },
  },
  {
    files: ['renderer/**/*.test.{ts,tsx}', 'renderer/src/test/**'],
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
  },
);
