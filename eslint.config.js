import js from '@eslint/js';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** Packages whose runtime code must run in a browser unchanged (listed in scripts/browser-packages.json). */
const browserPackages = Object.keys(JSON.parse(readFileSync(new URL('scripts/browser-packages.json', import.meta.url), 'utf8')).packages);
const nodeOnly =
  'is Node-only: this package runs in browsers too (scripts/browser-packages.json); use @blk/core helpers or feature-detect through globalThis';
const NODE_GLOBALS = [
  'Buffer',
  'process',
  'setImmediate',
  'clearImmediate',
  'global',
  '__dirname',
  '__filename',
  'require',
  'module',
  'exports',
];

export default defineConfig(
  globalIgnores(['**/dist/**', '**/node_modules/**', '**/build/**', '**/coverage/**', 'scripts/template/**']),
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: true,
      },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
    },
  },
  {
    files: ['**/test/**/*.ts', '**/bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: browserPackages.map((name) => `packages/${name}/src/**/*.ts`),
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: builtinModules.map((name) => ({ name, message: `${name} ${nodeOnly}` })),
          patterns: [{ group: ['node:*'], message: `node: modules ${nodeOnly}` }],
        },
      ],
      'no-restricted-globals': ['error', ...NODE_GLOBALS.map((name) => ({ name, message: `${name} ${nodeOnly}` }))],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly' },
    },
  },
);
