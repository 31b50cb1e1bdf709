// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Package boundaries: core imports no sibling; only the CLI composes packages. */
const siblingPackages = ['@cadmap/cli', '@cadmap/conformance', '@cadmap/adapter-*', '@cadmap/sandbox', '@cadmap/transport', '@cadmap/ledger'];

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', '.bench/**', '**/*.js', '**/*.mjs', 'vitest.config.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      eqeqeq: ['error', 'always'],
      curly: ['error', 'all'],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    files: ['packages/core/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: siblingPackages, message: '@cadmap/core must not import sibling packages.' },
            { group: ['../../*/src/*', '../../*/dist/*'], message: 'Import packages by name, never by relative path.' },
          ],
        },
      ],
      'no-restricted-globals': ['error', { name: 'process', message: 'Only the CLI reads process state; pass options in.' }],
    },
  },
  {
    files: ['packages/adapter-*/src/**/*.ts', 'packages/conformance/src/**/*.ts', 'packages/sandbox/src/**/*.ts', 'packages/transport/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@cadmap/cli', '@cadmap/conformance', '@cadmap/adapter-*', '@cadmap/sandbox', '@cadmap/ledger'], message: 'Adapters, the transport, the checker and the sandbox import only @cadmap/core (adapters also @cadmap/transport); the CLI and the pipeline compose them.' },
            { group: ['../../*/src/*', '../../*/dist/*'], message: 'Import packages by name, never by relative path.' },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/cli/src/**/*.ts', 'bench/**/*.ts', 'packages/*/bench/**/*.ts', 'test/**/*.ts', '**/*.test.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts', 'packages/*/bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      'no-restricted-globals': 'off',
    },
  },
);
