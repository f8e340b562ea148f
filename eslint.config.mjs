import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.beltline/**', 'examples/**', 'test/fixtures/**', 'bench/belts/**', 'jest.config.js', 'test/sequencer.js', 'workflow-bundle.js'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    // kafkajs's values come through src/kafka/kafkajs.ts, which puts its fixes in place first
    // (one of them must be there before kafkajs loads). Types may be imported directly.
    files: ['src/**/*.ts', 'bench/**/*.ts'],
    ignores: ['src/kafka/kafkajs.ts', 'src/workflows/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'kafkajs', message: 'import kafkajs values from src/kafka/kafkajs.ts', allowTypeImports: true }] }],
    },
  },
  {
    // Workflow code is replayed deterministically in Temporal's sandbox: no Node built-ins, no I/O.
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'path', 'crypto', 'os', 'child_process', 'net', 'http', 'https'], message: 'no Node built-ins in workflows' },
            { group: ['pg', 'kafkajs', 'fastify', 'isolated-vm', 'pino', '@temporalio/client', '@temporalio/worker', '@temporalio/activity'], message: 'no I/O libraries in workflows' },
            { group: ['../activities', '../activities/*'], importNames: ['createActivities'], message: 'workflows import activity types only (import type)' },
          ],
        },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
);
