#!/usr/bin/env node
// npm run bench:gemm (GPU machine, testing addon: TRT_RERANK_TESTING=1) — our GEMM kernel (native/kernels/gemm.cu)
// beside cuBLASLt on the linear layers of the models we run, in one run, as TFLOP/s (useful FLOPs 2 m n k, n counting
// both halves of a gated product) and time:
//   ours        our kernel, epilogue fused, the tile its rule picks (and each tile: large / medium / small of the
//               mma.sync kernel, hopper = the sm_90 wgmma kernel fed by cp.async, hopper-tma = the
//               persistent TMA-fed, warp-specialized one)
//   cublaslt    cuBLASLt with its bias epilogue, then our separate activation or gate pass where the layer has one
//               (what the backend ran before our kernels)
//   auto        the backend's rule (backends/cuda/linear_gemm.cc)
// m = tokens per batch: BENCH_GEMM_ROWS (default "1024,8192,65536"). The reference rate: cuBLASLt fp16 8192^3 in
// this run. BENCH_OUT: folder for bench-gemm.json / .md (default $OUT, else none).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAddon } from '../dist/binding/loader.js';

const addon = loadAddon();
const info = addon.systemInfo();
if (!addon.testing?.benchGemm || info.cuda.devices.length === 0) {
  console.log(`bench:gemm skipped: ${!addon.testing ? 'needs the testing addon (TRT_RERANK_TESTING=1 npm run build; TRT_RERANK_TESTING=1 to load it)' : `no CUDA device (${info.cuda.error ?? 'none found'})`}`);
  process.exit(0);
}
const hasCublas = info.cublasLt.found;
const dtype = process.env.BENCH_DTYPE ?? 'fp16';
const ROWS = (process.env.BENCH_GEMM_ROWS ?? '1024,8192,65536').split(',').map(Number);

// name, n, k, act, gated, bias — per model, its distinct linear layers.
const MODELS = {
  'minilm-l6': [['qkv', 1152, 384, 'none', false, true], ['attn-out', 384, 384, 'none', false, true],
    ['ffn-in (gelu)', 1536, 384, 'gelu', false, true], ['ffn-out', 384, 1536, 'none', false, true]],
  'xlmr-base': [['qkv', 2304, 768, 'none', false, true], ['attn-out', 768, 768, 'none', false, true],
    ['ffn-in (gelu)', 3072, 768, 'gelu', false, true], ['ffn-out', 768, 3072, 'none', false, true]],
  'xlmr-large': [['qkv', 3072, 1024, 'none', false, true], ['attn-out', 1024, 1024, 'none', false, true],
    ['ffn-in (gelu)', 4096, 1024, 'gelu', false, true], ['ffn-out', 1024, 4096, 'none', false, true]],
  'modernbert-base': [['Wqkv', 2304, 768, 'none', false, false], ['Wo', 768, 768, 'none', false, false],
    ['Wi (GeGLU)', 2304, 768, 'gelu', true, false], ['mlp Wo', 768, 1152, 'none', false, false]],
  'qwen3-0.6b': [['qkv', 4096, 1024, 'none', false, false], ['o', 1024, 2048, 'none', false, false],
    ['gate|up (SwiGLU)', 6144, 1024, 'silu', true, false], ['down', 1024, 3072, 'none', false, false]],
};
const selected = (process.env.BENCH_MODELS ?? Object.keys(MODELS).join(',')).split(',');

const bench = (m, n, k, options) => {
  try {
    return addon.testing.benchGemm(m, n, k, { dtype, iterations: m >= 32768 ? 10 : 30, ...options });
  } catch (error) {
    return { ms: NaN, tflops: NaN, error: error.message };
  }
};

const reference = hasCublas ? bench(8192, 8192, 8192, { act: 'none', gated: false, impl: 'cublaslt' }) : null;
const oursSquare = bench(8192, 8192, 8192, { act: 'none', gated: false, impl: 'ours' });
const largeSquare = bench(8192, 8192, 8192, { act: 'none', gated: false, impl: 'ours', tile: 'large' });
const hopperSquare = bench(8192, 8192, 8192, { act: 'none', gated: false, impl: 'ours', tile: 'hopper' });
console.log(`device: ${info.cuda.devices[0]?.name}; ${dtype}; cuBLASLt ${hasCublas ? info.cublasLt.library : 'absent'}`);
console.log(`8192^3: cuBLASLt ${reference ? reference.tflops.toFixed(0) : '-'} TFLOP/s, ours ${oursSquare.tflops.toFixed(0)} TFLOP/s (mma.sync large tile ${largeSquare.tflops.toFixed(0)}, wgmma cp.async tile ${hopperSquare.tflops.toFixed(0)})`);

const rows = [];
for (const model of selected) {
  for (const [layer, n, k, act, gated, bias] of MODELS[model] ?? []) {
    for (const m of ROWS) {
      const outN = gated ? n / 2 : n;
      const base = { act, gated };
      const row = { model, layer, m, n, k, act, gated, bias };
      row.ours = bench(m, outN, k, { ...base, impl: 'ours', tile: 'auto' });
      for (const tile of ['large', 'medium', 'small', 'hopper', 'hopper-tma']) row[tile] = bench(m, outN, k, { ...base, impl: 'ours', tile });
      if (hasCublas) {
        row.cublaslt = bench(m, outN, k, { ...base, impl: 'cublaslt' });
        row.auto = bench(m, outN, k, { ...base, impl: 'auto' });
      }
      rows.push(row);
      const f = (r) => (r && Number.isFinite(r.tflops) ? r.tflops.toFixed(0).padStart(4) : '   -');
      console.log(`${model.padEnd(16)} ${layer.padEnd(18)} m ${String(m).padStart(6)}  ours ${f(row.ours)} (L ${f(row.large)} M ${f(row.medium)} S ${f(row.small)} H ${f(row.hopper)} T ${f(row['hopper-tma'])})` +
        `  cuBLASLt ${f(row.cublaslt)}  auto ${f(row.auto)} TFLOP/s  ours/cuBLASLt ${row.cublaslt ? (row.cublaslt.ms / row.ours.ms).toFixed(2) : '-'}`);
    }
  }
}

const out = process.env.BENCH_OUT ?? process.env.OUT;
if (out) {
  const result = { device: info.cuda.devices[0]?.name, dtype, cublasLt: hasCublas ? info.cublasLt.library : null, reference, oursSquare, hopperSquare, rows };
  writeFileSync(join(out, 'bench-gemm.json'), JSON.stringify(result, null, 1));
  const lines = [`# GEMM: ours vs cuBLASLt (${result.device}, ${dtype}, TFLOP/s; ratio = cuBLASLt time / ours)`, '',
    `8192^3 in this run: cuBLASLt ${reference?.tflops.toFixed(0) ?? '-'} TFLOP/s, ours ${oursSquare.tflops.toFixed(0)} TFLOP/s (wgmma cp.async tile ${hopperSquare.tflops.toFixed(0)})`, '',
    '| model | layer | m | n | k | ours | large | medium | small | hopper | hopper-tma | cuBLASLt (+ pass) | auto | ratio |', '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'];
  const t = (r) => (r && Number.isFinite(r.tflops) ? r.tflops.toFixed(0) : '-');
  for (const r of rows) {
    lines.push(`| ${r.model} | ${r.layer} | ${r.m} | ${r.n} | ${r.k} | ${t(r.ours)} | ${t(r.large)} | ${t(r.medium)} | ${t(r.small)} | ${t(r.hopper)} | ${t(r['hopper-tma'])} | ${t(r.cublaslt)} | ${t(r.auto)} | ${r.cublaslt ? (r.cublaslt.ms / r.ours.ms).toFixed(2) : '-'} |`);
  }
  writeFileSync(join(out, 'bench-gemm.md'), `${lines.join('\n')}\n`);
}
