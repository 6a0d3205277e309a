#!/usr/bin/env node
// Builds the prebuilt binary packages from the current sources, and packs them and the main package
// (`npm run prebuilds`; not `prebuild`, which npm would run before every `npm run build`). Each variant is built
// by cmake-js in its own folder (build-prebuild-<variant>), its trt_rerank.node stripped and checked (it loads
// in a child process, systemInfo() reports the toolkit asked for, cuobjdump lists the architectures asked for),
// then packed:
//
//   prebuilds/<variant>/trt_rerank.node             the stripped binary
//   prebuilds/pkg/<variant>/                        the package: package.json, index.js, trt_rerank.node, README.md
//   prebuilds/trt-rerank-<variant>-<version>.tgz    `npm pack` of it (@trt-rerank/<variant>)
//   prebuilds/trt-rerank-<version>.tgz              the main package, with optionalDependencies on the x64 three
//   prebuilds/manifest.json                         what is in prebuilds/: toolkit, architectures, sizes, build times
//
// Variants (PREBUILD_VARIANTS=linux-x64,linux-x64-cuda13 picks some; default: the three x64 ones):
//   linux-x64          CPU only (TRT_RERANK_WITH_CUDA=OFF); the AVX2/FMA kernels are chosen at run time
//   linux-x64-cuda13   the CUDA 13 toolkit at CUDA13_HOME (default /usr/local/cuda): sm_80 86 89 90 100 120 + PTX 120
//   linux-x64-cuda12   the CUDA 12.4 toolkit at CUDA12_HOME (default .third_party/cuda-12.4, made by
//                      tools/fetch-cuda12.sh; PREBUILD_FETCH_CUDA12=1 runs it): sm_80 86 89 90 + PTX 90
//   linux-arm64        CPU only, cross-compiled with tools/cmake/aarch64-linux-gnu.cmake (the compiler from
//                      tools/fetch-aarch64-gcc.sh) and loaded under qemu-aarch64-static; only when named, and not
//                      among the main package's optionalDependencies (the loader has no arm64 packages yet)
// A variant whose toolkit is absent is skipped with the reason where it was not asked for by name, and fails
// the run where it was. sm_75 is in neither CUDA list: attention.cu's mma.m16n8k16, bf16 mma and cp.async need
// sm_80.
//
// Other environment:
//   PREBUILD_CUDA13_ARCHS / PREBUILD_CUDA12_ARCHS  CMake architecture lists instead ("90-real;90-virtual")
//   PREBUILD_CLEAN=1     delete the build folders first (a full build; otherwise cmake-js builds what changed)
//   PREBUILD_MAIN=0      do not pack the main package
//   CUOBJDUMP            the cuobjdump that lists the GPU code (default: the toolkit's, else .third_party/cuda-12.4's)
//   TENSORRT_INCLUDE_DIR also compile the TensorRT backend into the CUDA variants (default: left out)
//
// The main package is packed from a staged copy (prebuilds/stage/trt-rerank: the files `npm pack` would take,
// listed by `npm pack --dry-run`), whose package.json alone gains the optionalDependencies: the repository's
// package.json never lists them, so `npm ci` in a clone does not look for packages that are not published, and
// an interrupted run leaves nothing to restore. One run at a time: a second waits for prebuilds/.lock.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const mainPackage = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const version = mainPackage.version;
const out = join(root, 'prebuilds');
const addonFile = 'trt_rerank.node';
const scope = '@trt-rerank';

const say = (text) => console.log(`prebuild: ${text}`);
const fail = (text) => {
  console.error(`prebuild: ${text}`);
  process.exit(1);
};
const rel = (path) => relative(root, path) || '.';
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const run = (command, args, options = {}) => spawnSync(command, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...options });
const archList = (text) => text.split(/[;, ]+/).filter(Boolean);

// ---- toolkits ---------------------------------------------------------------------------------------------
/** A toolkit's nvcc and its "major.minor", or why it cannot be used. */
function cudaToolkit(home, major) {
  const nvcc = join(home, 'bin', 'nvcc');
  if (!existsSync(nvcc)) return { missing: `no nvcc at ${nvcc}` };
  const result = run(nvcc, ['--version']);
  const release = /release (\d+)\.(\d+)/.exec(result.stdout ?? '');
  if (result.status !== 0 || !release) return { missing: `${nvcc} --version failed: ${(result.stderr || result.error?.message || '').trim()}` };
  if (Number(release[1]) !== major) return { missing: `${nvcc} is CUDA ${release[1]}.${release[2]}, not ${major}.x` };
  return { home, nvcc, cuda: `${release[1]}.${release[2]}`, tools: { strip: 'strip', objdump: 'objdump' } };
}

function cuda12Toolkit() {
  const home = env.CUDA12_HOME || join(root, '.third_party', 'cuda-12.4');
  let found = cudaToolkit(home, 12);
  if (found.missing && !env.CUDA12_HOME && env.PREBUILD_FETCH_CUDA12 === '1') {
    say('PREBUILD_FETCH_CUDA12=1: running tools/fetch-cuda12.sh');
    const fetched = spawnSync('bash', [join(root, 'tools', 'fetch-cuda12.sh')], { stdio: 'inherit', cwd: root });
    if (fetched.status !== 0) return { missing: `tools/fetch-cuda12.sh failed (exit ${fetched.status})` };
    found = cudaToolkit(home, 12);
  }
  if (found.missing && !env.CUDA12_HOME) {
    found.missing += ': run tools/fetch-cuda12.sh (CUDA 12.4 from Debian trixie into .third_party/cuda-12.4), ' +
      'or set PREBUILD_FETCH_CUDA12=1, or CUDA12_HOME=<a CUDA 12 toolkit>';
  }
  return found;
}

/** The aarch64 cross compiler of tools/fetch-aarch64-gcc.sh, and qemu with an arm64 Node.js to load the result. */
function aarch64Toolchain() {
  const cross = env.TRT_RERANK_AARCH64_ROOT || join(root, '.third_party', 'aarch64-cross');
  const rootfs = join(root, '.third_party', 'arm64-rootfs');
  const gxx = join(cross, 'usr', 'bin', 'aarch64-linux-gnu-g++-12');
  if (!existsSync(gxx)) return { missing: `no ${gxx}: run tools/fetch-aarch64-gcc.sh` };
  const qemu = join(rootfs, 'qemu-aarch64-static');
  return {
    cuda: null,
    toolchainFile: join(root, 'tools', 'cmake', 'aarch64-linux-gnu.cmake'),
    env: { LD_LIBRARY_PATH: join(cross, 'usr', 'lib', 'x86_64-linux-gnu'), TRT_RERANK_AARCH64_ROOT: cross },
    tools: { strip: join(cross, 'usr', 'bin', 'aarch64-linux-gnu-strip'), objdump: join(cross, 'usr', 'bin', 'aarch64-linux-gnu-objdump') },
    // How to run node on this binary; absent: it is not loaded (a cross build is then only checked by `file`).
    node: existsSync(qemu) ? [qemu, '-L', rootfs, join(rootfs, 'usr', 'bin', 'node')] : undefined,
  };
}

/**
 * The variants. `arch` is npm's cpu, `variant` the loader's name for what the binary holds, `listed` whether the
 * main package lists it among its optionalDependencies, `byDefault` whether a run without PREBUILD_VARIANTS builds it.
 */
const variants = {
  'linux-x64': { arch: 'x64', variant: 'cpu', listed: true, byDefault: true, toolkit: () => ({ cuda: null, tools: { strip: 'strip', objdump: 'objdump' } }) },
  'linux-x64-cuda13': {
    arch: 'x64', variant: 'cuda13', listed: true, byDefault: true,
    archs: archList(env.PREBUILD_CUDA13_ARCHS ?? '80-real;86-real;89-real;90-real;100-real;120-real;120-virtual'),
    toolkit: () => cudaToolkit(env.CUDA13_HOME || '/usr/local/cuda', 13),
  },
  'linux-x64-cuda12': {
    arch: 'x64', variant: 'cuda12', listed: true, byDefault: true,
    archs: archList(env.PREBUILD_CUDA12_ARCHS ?? '80-real;86-real;89-real;90-real;90-virtual'),
    toolkit: cuda12Toolkit,
  },
  'linux-arm64': { arch: 'arm64', variant: 'cpu', listed: false, byDefault: false, toolkit: aarch64Toolchain },
};

const asked = env.PREBUILD_VARIANTS ? archList(env.PREBUILD_VARIANTS) : undefined;
for (const name of asked ?? []) {
  if (!variants[name]) fail(`PREBUILD_VARIANTS names ${name}; the variants are ${Object.keys(variants).join(', ')}`);
}
if (process.platform !== 'linux' || process.arch !== 'x64') fail(`the prebuilt packages are built on Linux x64; this is ${process.platform}-${process.arch}`);

const require = createRequire(import.meta.url);
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');

// ---- one run at a time ------------------------------------------------------------------------------------
const lock = join(out, '.lock');
function takeLock() {
  mkdirSync(out, { recursive: true });
  const deadline = Date.now() + 2 * 60 * 60_000;
  let told = false;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      return;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    let holder = 0;
    try {
      holder = Number(readFileSync(join(lock, 'pid'), 'utf8')) || 0;
    } catch {
      // made, its pid not yet written
    }
    let alive;
    try {
      alive = holder > 0 ? process.kill(holder, 0) : Date.now() - statSync(lock).mtimeMs < 10_000;
    } catch {
      alive = false;
    }
    if (!alive) {
      rmSync(lock, { recursive: true, force: true }); // left by a run that died
      continue;
    }
    if (Date.now() > deadline) fail(`another tools/prebuild.mjs (pid ${holder}) has held ${rel(lock)} for 2 hours`);
    if (!told) say(`waiting for the tools/prebuild.mjs of pid ${holder} to finish (${rel(lock)})`);
    told = true;
    spawnSync('sleep', ['2']);
  }
}
const dropLock = () => rmSync(lock, { recursive: true, force: true });

// ---- build and check --------------------------------------------------------------------------------------
/** Builds one variant into build-prebuild-<name>; returns the .node path and the seconds it took. */
function build(name, spec, toolkit) {
  const buildDir = join(root, `build-prebuild-${name}`);
  if (env.PREBUILD_CLEAN === '1') rmSync(buildDir, { recursive: true, force: true });
  mkdirSync(buildDir, { recursive: true });
  // Every define is passed each time, so a cache left by an earlier run keeps none of its choices.
  // libstdc++ stays dynamic (GLIBCXX_3.4.30, GCC >= 12's): bookworm's static libstdc++.a (random.o, pulled in by
  // cow-string-inst.o) and libgcc_eh would raise the glibc floor from 2.34 to 2.36 (arc4random, _dl_find_object).
  const defines = ['TRT_RERANK_TESTING=OFF', `TENSORRT_INCLUDE_DIR=${toolkit.cuda ? env.TENSORRT_INCLUDE_DIR ?? '' : ''}`];
  if (toolkit.cuda) {
    // CUDAToolkit_ROOT as well: CMakeLists.txt looks for the toolkit before it enables CUDA, and would find
    // /usr/local/cuda otherwise.
    defines.push('TRT_RERANK_WITH_CUDA=ON', `CMAKE_CUDA_COMPILER=${toolkit.nvcc}`, `CUDAToolkit_ROOT=${toolkit.home}`,
      `TRT_RERANK_CUDA_ARCHITECTURES=${spec.archs.join(';')}`);
  } else {
    defines.push('TRT_RERANK_WITH_CUDA=OFF');
  }
  if (toolkit.toolchainFile) defines.push(`CMAKE_TOOLCHAIN_FILE=${toolkit.toolchainFile}`);
  const childEnv = { ...env, ...toolkit.env };
  for (const key of ['CUDA_PATH', 'CUDA_HOME', 'CUDAToolkit_ROOT', 'CUDACXX', 'TRT_RERANK_CUDA_ARCHS', 'TRT_RERANK_NO_CUDA']) delete childEnv[key];
  const args = (command) => [cmakeJs, command, '--directory', root, '--out', buildDir, '--config', 'Release',
    '--parallel', String(availableParallelism()), '--log-level', 'warn', ...defines.map((d) => `--CD${d}`)];
  const log = join(buildDir, 'prebuild.log');
  let text = '';
  const started = process.hrtime.bigint();
  for (const command of ['configure', 'build']) {
    const result = run(process.execPath, args(command), { cwd: root, env: childEnv });
    text += `$ cmake-js ${command}\n${result.stdout}${result.stderr}`;
    writeFileSync(log, text);
    if (result.status !== 0) {
      console.error(text.trim().split('\n').slice(-40).join('\n'));
      fail(`${name}: cmake-js ${command} failed (exit ${result.status}); the whole log is ${rel(log)}`);
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const node = join(buildDir, 'Release', addonFile);
  if (!existsSync(node)) fail(`${name}: the build made no ${rel(node)}`);
  return { node, seconds };
}

/** Loads the binary in a child process (under qemu for a cross build); returns its systemInfo(), or null where it cannot be run. */
function systemInfo(node, toolkit) {
  const [command, ...prefix] = toolkit.node ?? (toolkit.toolchainFile ? [] : [process.execPath]);
  if (!command) return null;
  const result = run(command, [...prefix, '-e', 'process.stdout.write(JSON.stringify(require(process.argv[1]).systemInfo()))', node]);
  if (result.status !== 0) fail(`${rel(node)} does not load: ${(result.stderr || result.error?.message || '').trim()}`);
  return JSON.parse(result.stdout);
}

/** The GPU code in a binary, as cuobjdump lists it: sm_XX for machine code, compute_XX for PTX. */
function architectures(node, toolkit) {
  if (!toolkit.cuda) return [];
  // The toolkit's own, else another's (CUDA 13 installs without one exist; 12.4's lists CUDA 13's sm_100 / sm_120 too).
  const cuobjdump = [env.CUOBJDUMP, join(toolkit.home, 'bin', 'cuobjdump'), join(root, '.third_party', 'cuda-12.4', 'bin', 'cuobjdump'),
    '/usr/local/cuda/bin/cuobjdump'].find((path) => path && existsSync(path));
  if (!cuobjdump) fail(`no cuobjdump to list ${rel(node)}'s GPU code: not in ${toolkit.home}/bin; tools/fetch-cuda12.sh brings one, or set CUOBJDUMP`);
  const result = run(cuobjdump, ['--list-elf', '--list-ptx', node]);
  if (result.status !== 0) fail(`${cuobjdump} --list-elf --list-ptx ${rel(node)} failed: ${(result.stderr || result.error?.message || '').trim()}`);
  const found = new Set();
  for (const line of result.stdout.split('\n')) {
    const elf = /^ELF file.*\.sm_(\d+)[a-z]?\.cubin/.exec(line);
    const ptx = /^PTX file.*\.sm_(\d+)[a-z]?\.ptx/.exec(line);
    if (elf) found.add(`sm_${elf[1]}`);
    if (ptx) found.add(`compute_${ptx[1]}`);
  }
  const order = (a) => Number(a.replace(/\D/g, '')) + (a.startsWith('compute') ? 0.5 : 0);
  return [...found].sort((a, b) => order(a) - order(b));
}

/** What CMake's list asks for, in cuobjdump's terms: 90-real is sm_90, 90-virtual compute_90, 90 both. */
function expectedArchitectures(archs) {
  return [...new Set(archs.flatMap((a) => {
    const [, n, kind] = /^(\d+)(?:-(real|virtual))?$/.exec(a) ?? [];
    if (!n) fail(`cannot read the CUDA architecture "${a}"`);
    return kind === 'real' ? [`sm_${n}`] : kind === 'virtual' ? [`compute_${n}`] : [`sm_${n}`, `compute_${n}`];
  }))].sort();
}

/** The newest GLIBC_ / GLIBCXX_ symbol versions a binary needs. */
function symbolVersions(node, toolkit) {
  const dump = run(toolkit.tools.objdump, ['-T', node], { env: { ...env, ...toolkit.env } }).stdout ?? '';
  const newest = (prefix) => {
    const versions = [...dump.matchAll(new RegExp(`\\b${prefix}_([0-9.]+)\\b`, 'g'))].map((m) => m[1]);
    const key = (v) => v.split('.').map((p) => p.padStart(4, '0')).join('.');
    return versions.sort((a, b) => (key(a) < key(b) ? -1 : 1)).at(-1) ?? null;
  };
  return { glibc: newest('GLIBC'), glibcxx: newest('GLIBCXX') };
}

// ---- packages ---------------------------------------------------------------------------------------------
const cpuName = { x64: 'x64', arm64: 'arm64' };

function describe(spec, toolkit, archs) {
  const platform = `Linux ${cpuName[spec.arch]} (glibc)`;
  if (!toolkit.cuda) {
    return `trt-rerank's prebuilt native addon for ${platform}, CPU only${spec.arch === 'x64' ? ' (AVX2/FMA kernels chosen at run time)' : ''}`;
  }
  const sass = archs.filter((a) => a.startsWith('sm_')).join(', ');
  const ptx = archs.filter((a) => a.startsWith('compute_')).join(', ');
  return `trt-rerank's prebuilt native addon for ${platform}, CUDA ${toolkit.cuda} (runtime linked statically; needs an ` +
    `NVIDIA driver for CUDA >= ${toolkit.cuda.split('.')[0]}.0): GPU code for ${sass}${ptx ? `, PTX ${ptx}` : ''}`;
}

/** npm pack in `dir` into prebuilds/; returns the tarball's path, packed and unpacked size. */
function pack(dir) {
  const result = run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out], { cwd: dir });
  if (result.status !== 0) fail(`npm pack in ${rel(dir)} failed: ${result.stderr.trim()}`);
  const [info] = JSON.parse(result.stdout);
  const file = join(out, info.filename);
  return { file, size: statSync(file).size, unpackedSize: info.unpackedSize };
}

/** Writes prebuilds/pkg/<name>/ and packs it. */
function packageVariant(name, spec, toolkit, binary, archs, note, symbols) {
  const dir = join(out, 'pkg', name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  copyFileSync(binary, join(dir, addonFile));
  const manifest = {
    name: `${scope}/${name}`,
    version,
    description: describe(spec, toolkit, archs),
    license: mainPackage.license,
    os: ['linux'],
    cpu: [spec.arch],
    libc: ['glibc'],
    main: 'index.js',
    files: ['index.js', addonFile, 'README.md'],
    engines: mainPackage.engines,
    ...(mainPackage.repository ? { repository: mainPackage.repository } : {}),
    // What the package holds, for the loader to read without loading the binary.
    trtRerank: {
      variant: spec.variant,
      cuda: toolkit.cuda,
      architectures: archs,
      napi: mainPackage.binary?.napi_versions?.[0] ?? null,
      glibc: symbols.glibc,
      glibcxx: symbols.glibcxx,
      note,
    },
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(dir, 'index.js'),
    "'use strict';\n// The absolute path of this package's trt-rerank native addon.\nmodule.exports = require('node:path').join(__dirname, 'trt_rerank.node');\n");
  const major = toolkit.cuda?.split('.')[0];
  const gpu = toolkit.cuda
    ? `Built with CUDA ${toolkit.cuda}, its runtime linked statically: it needs an NVIDIA driver that supports CUDA ${major}.0 or ` +
      `newer, and libcublasLt.so.${major} on the library path for the CUDA backend. GPU code: ${archs.join(', ')}.`
    : 'No GPU code: the CPU backend only.';
  const libs = `glibc >= ${symbols.glibc}${symbols.glibcxx ? `, libstdc++ with GLIBCXX_${symbols.glibcxx}: GCC >= 12's` : ''}`;
  writeFileSync(join(dir, 'README.md'), [
    `# ${manifest.name}`,
    '',
    `The prebuilt native addon of [trt-rerank](https://www.npmjs.com/package/trt-rerank) ${version} for Linux ${cpuName[spec.arch]} ` +
      `(${libs}). ${gpu}`,
    '',
    'Installed by npm as an optional dependency of trt-rerank, whose loader chooses among the installed packages; it is not',
    `meant to be used alone. \`require('${manifest.name}')\` returns the path of ${addonFile}.`,
    '',
  ].join('\n'));
  return pack(dir);
}

/** Packs the main package from a staged copy whose package.json lists the prebuilt packages. */
function packMain() {
  say('main package: npm run build:ts');
  const ts = run('npm', ['run', 'build:ts'], { cwd: root });
  if (ts.status !== 0) fail(`npm run build:ts failed:\n${ts.stdout}${ts.stderr}`);
  const listed = run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root });
  if (listed.status !== 0) fail(`npm pack --dry-run failed: ${listed.stderr.trim()}`);
  const [{ files }] = JSON.parse(listed.stdout);
  const stage = join(out, 'stage', 'trt-rerank');
  rmSync(join(out, 'stage'), { recursive: true, force: true });
  for (const { path } of files) {
    mkdirSync(dirname(join(stage, path)), { recursive: true });
    copyFileSync(join(root, path), join(stage, path));
  }
  const optional = Object.entries(variants).filter(([, v]) => v.listed).map(([name]) => [`${scope}/${name}`, version]);
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify({ ...mainPackage, optionalDependencies: Object.fromEntries(optional) }, null, 2)}\n`);
  const packed = pack(stage);
  rmSync(join(out, 'stage'), { recursive: true, force: true });
  return { ...packed, optional: optional.map(([n, v]) => `${n}@${v}`) };
}

// ---- run --------------------------------------------------------------------------------------------------
takeLock();
process.on('exit', dropLock);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

const manifestFile = join(out, 'manifest.json');
const previous = existsSync(manifestFile) ? JSON.parse(readFileSync(manifestFile, 'utf8')) : {};
// Entries of earlier runs are kept where their tarball is still there and of this version.
const entries = new Map((previous.version === version ? previous.variants ?? [] : [])
  .filter((v) => v.tarball && existsSync(join(root, v.tarball))).map((v) => [v.name, v]));
const thisRun = [];
for (const [name, spec] of Object.entries(variants)) {
  if (asked ? !asked.includes(name) : !spec.byDefault) continue;
  const toolkit = spec.toolkit();
  if (toolkit.missing) {
    if (asked) fail(`${name}: ${toolkit.missing}`);
    say(`${name}: skipped: ${toolkit.missing}`);
    thisRun.push({ name, skipped: toolkit.missing });
    continue;
  }
  say(`${name}: building (${toolkit.cuda ? `CUDA ${toolkit.cuda} at ${toolkit.home}, ${spec.archs.join(' ')}` : `CPU only${toolkit.toolchainFile ? ', cross-compiled' : ''}`}) in build-prebuild-${name}`);
  const { node, seconds } = build(name, spec, toolkit);
  const dir = join(out, name);
  mkdirSync(dir, { recursive: true });
  const binary = join(dir, addonFile);
  copyFileSync(node, binary);
  const strip = run(toolkit.tools.strip, ['--strip-unneeded', binary], { env: { ...env, ...toolkit.env } });
  if (strip.status !== 0) fail(`${toolkit.tools.strip} --strip-unneeded ${rel(binary)} failed: ${(strip.stderr || strip.error?.message || '').trim()}`);
  const info = systemInfo(binary, toolkit);
  if (info) {
    if (info.cuda.built !== Boolean(toolkit.cuda)) fail(`${name}: systemInfo().cuda.built is ${info.cuda.built} (note: ${info.cuda.note})`);
    if (toolkit.cuda && !info.cuda.note.startsWith(`CUDA ${toolkit.cuda}.`)) fail(`${name}: systemInfo().cuda.note is "${info.cuda.note}", not CUDA ${toolkit.cuda}`);
  } else {
    say(`${name}: not loaded (no qemu-aarch64-static: tools/fetch-aarch64-gcc.sh fetches it)`);
  }
  const archs = architectures(binary, toolkit);
  if (toolkit.cuda) {
    const expected = expectedArchitectures(spec.archs);
    if (JSON.stringify(expected) !== JSON.stringify([...archs].sort())) fail(`${name}: cuobjdump lists ${archs.join(' ')}, not ${expected.join(' ')}`);
  }
  const symbols = symbolVersions(binary, toolkit);
  const note = info?.cuda.note ?? null;
  const packed = packageVariant(name, spec, toolkit, binary, archs, note, symbols);
  say(`${name}: ${seconds.toFixed(0)} s, ${rel(binary)} ${mb(statSync(binary).size)} (stripped), ${rel(packed.file)} ${mb(packed.size)}`);
  const entry = { name, package: `${scope}/${name}`, variant: spec.variant, cpu: spec.arch, cuda: toolkit.cuda, note, architectures: archs,
    buildSeconds: Math.round(seconds), cleanBuild: env.PREBUILD_CLEAN === '1', binaryBytes: statSync(binary).size, ...symbols, tarball: rel(packed.file), packedBytes: packed.size,
    unpackedBytes: packed.unpackedSize, loaded: Boolean(info) };
  entries.set(name, entry);
  thisRun.push(entry);
}
let main = previous.version === version && previous.main && existsSync(join(root, previous.main.tarball)) ? previous.main : undefined;
if (env.PREBUILD_MAIN !== '0') {
  const packed = packMain();
  main = { name: 'trt-rerank', tarball: rel(packed.file), packedBytes: packed.size, unpackedBytes: packed.unpackedSize, optionalDependencies: packed.optional };
  say(`main package: ${rel(packed.file)} ${mb(packed.size)}, optionalDependencies on ${packed.optional.join(', ')}`);
}
const order = Object.keys(variants);
const kept = [...entries.values()].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
writeFileSync(manifestFile, `${JSON.stringify({ version, variants: kept, main }, null, 2)}\n`);

// ---- table: everything prebuilds/ holds for this version (this run's marked *; build time of a clean build ----
// unless marked incremental)
const rows = [['package', 'build', '.node', 'packed', 'unpacked', 'GPU code']];
const built = new Set(thisRun.filter((r) => !r.skipped).map((r) => r.name));
for (const r of kept) {
  rows.push([`${r.package}${built.has(r.name) ? ' *' : ''}`, `${r.buildSeconds} s${r.cleanBuild ? '' : ' (incremental)'}`, mb(r.binaryBytes), mb(r.packedBytes), mb(r.unpackedBytes),
    r.architectures.join(' ') || '-']);
}
for (const r of thisRun.filter((s) => s.skipped && !entries.has(s.name))) rows.push([`${scope}/${r.name}`, 'skipped', '', '', '', '']);
if (main) rows.push([`${main.name}${env.PREBUILD_MAIN !== '0' ? ' *' : ''}`, '', '', mb(main.packedBytes), mb(main.unpackedBytes), '']);
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
console.log(rows.map((r) => r.map((c, i) => (i >= 1 && i <= 4 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd()).join('\n'));
