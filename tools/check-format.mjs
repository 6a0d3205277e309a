#!/usr/bin/env node
// clang-format over native/ (the style: .clang-format), with the binary the `clang-format` npm package ships
// (clang-format 15; no system install needed) or $CLANG_FORMAT.
//   node tools/check-format.mjs         checks: names each file clang-format would change, exits 1 if any (npm run lint)
//   node tools/check-format.mjs --fix   formats the checked files in place
//   node tools/check-format.mjs --fix FILE...   formats FILEs
// Every .cc/.h/.cu/.cuh under native/ is checked, new files included.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The clang-format to run: $CLANG_FORMAT, else the npm package's binary for this platform. */
function clangFormat() {
  if (process.env.CLANG_FORMAT) return process.env.CLANG_FORMAT;
  const dir = dirname(createRequire(import.meta.url).resolve('clang-format/package.json'));
  const name = process.platform === 'win32' ? 'win32/clang-format.exe' : `${process.platform}_${process.arch}/clang-format`;
  return join(dir, 'bin', name);
}

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return /\.(cc|h|cu|cuh)$/.test(e.name) ? [relative(root, path).split('\\').join('/')] : [];
  });
}

const args = process.argv.slice(2);
const fix = args[0] === '--fix';
const named = fix ? args.slice(1) : args;
const files = named.length > 0 ? named : sources(join(root, 'native')).sort();
const binary = clangFormat();
const version = spawnSync(binary, ['--version'], { encoding: 'utf8' });
if (version.status !== 0) {
  console.error(`tools/check-format.mjs: cannot run ${binary} (${version.error?.message ?? version.stderr.trim()}); set CLANG_FORMAT to a clang-format binary`);
  process.exit(1);
}

if (fix) {
  execFileSync(binary, ['-i', '--style=file', ...files], { cwd: root, stdio: 'inherit' });
  console.log(`formatted ${files.length} files`);
} else {
  const run = spawnSync(binary, ['--dry-run', '--Werror', '--style=file', ...files], { cwd: root, encoding: 'utf8' });
  const bad = [...new Set([...run.stderr.matchAll(/^(\S+?):\d+:\d+: error:/gm)].map((m) => m[1]))];
  if (run.status !== 0) {
    console.error(run.stderr.split('\n').slice(0, 40).join('\n'));
    console.error(`clang-format would change ${bad.length || 'some'} of the ${files.length} files checked: ${bad.join(', ')}.\n` +
      'Run `node tools/check-format.mjs --fix` (or --fix FILE) and look at the diff.');
    process.exit(1);
  }
  console.log(`clang-format: ${files.length} files of native/ formatted as .clang-format says`);
}
