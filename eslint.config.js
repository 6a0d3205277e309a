// `npm run lint` (with clang-format over native/: tools/check-format.mjs). typescript-eslint's recommended rules
// for the TypeScript in lib/ and test/, plus the type-aware rules that catch real bugs here cheaply (promises
// not awaited, awaits of non-promises); bench/ and tools/ scripts get the JavaScript recommended set.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'build*/**', 'node_modules/**', 'lib/generated/**', 'test/fake-tensorrt/**'] },
  js.configs.recommended,
  {
    files: ['bench/**/*.mjs', 'tools/*.mjs', '*.js', '*.mjs'],
    languageOptions: { globals: globals.node },
  },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // Event handlers and callbacks that start async work on purpose (`void this.#handle(req, res)`) are the style.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      // `_`-prefixed names and rest siblings (`const { model_max_length: _, ...rest }`) are left out on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Replies parsed from JSON are checked field by field (`json(res): Promise<any>`): typing them adds nothing.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
);
