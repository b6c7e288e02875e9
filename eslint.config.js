import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'build/', 'actions/*/dist/', 'coverage/', '.cdl/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        performance: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        TextDecoder: 'readonly',
        TextEncoder: 'readonly',
        AbortController: 'readonly',
        fetch: 'readonly',
        structuredClone: 'readonly',
        globalThis: 'readonly',
        queueMicrotask: 'readonly',
        setImmediate: 'readonly',
        WebAssembly: 'readonly',
        SharedArrayBuffer: 'readonly',
        AbortSignal: 'readonly',
        Response: 'readonly',
        Request: 'readonly',
        Headers: 'readonly',
        Blob: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // The toolkit lives in src/github and the actions' entry points; everything else gets it injected.
    // The runner's workflow and expression parsers are libraries, allowed in runner/engine only.
    files: ['src/**/*.ts', 'runner/**/*.ts'],
    ignores: ['src/github/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '@actions/*',
                '!@actions/workflow-parser',
                '!@actions/workflow-parser/**',
                '!@actions/expressions',
                '!@actions/expressions/**',
              ],
              message: 'the toolkit (@actions/*) is imported only in src/github and actions/*/src; inject it.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/github/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@actions/*'],
              message: 'the toolkit (@actions/*) is imported only in src/github and actions/*/src; inject it.',
            },
          ],
        },
      ],
    },
  },
);
