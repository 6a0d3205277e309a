/**
 * The TensorRT backend's parts that need no TensorRT library: engine I/O validation and shape plans
 * (native/backends/tensorrt/engine_io.cc, built into every addon), backend selection and the messages when
 * TensorRT cannot run, and the build-engine command without TensorRT. With TRT_RERANK_ADDON pointing at a
 * build compiled against TensorRT headers (tools/check-tensorrt-build.sh) the same file checks that build's
 * "libnvinfer missing" messages.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../lib/binding/loader.js';
import type { NativeAddon, NativeEngineIoPlan, NativeTensorDesc } from '../../lib/binding/native.js';
import { BackendUnavailableError } from '../../lib/errors.js';
import { Reranker } from '../../lib/reranker.js';
import { cudaBackendSkipReason, requireAddonBuilt } from '../helpers/addon.js';
import { REPO_ROOT, useTinyModel } from '../helpers/models.js';

requireAddonBuilt();
const addon = loadAddon() as NativeAddon;
const io = addon.engineIo;
const system = addon.systemInfo();
const hasTensorRtBackend = system.backends.includes('tensorrt');

/** What tools/export_onnx.py's engines look like: dynamic [B, S] int64 inputs, logits [B, 1] fp32. */
function exported(overrides: Partial<Record<'ids' | 'mask' | 'types' | 'logits', Partial<NativeTensorDesc> | null>> = {}): NativeTensorDesc[] {
  const input = (name: string): NativeTensorDesc => ({
    name, input: true, type: 'int64', shape: [-1, -1], profileMin: [1, 1], profileOpt: [512, 128], profileMax: [512, 512],
  });
  const tensors: Array<[keyof typeof overrides, NativeTensorDesc]> = [
    ['ids', input('input_ids')],
    ['mask', input('attention_mask')],
    ['types', input('token_type_ids')],
    ['logits', { name: 'logits', input: false, type: 'fp32', shape: [-1, 1] }],
  ];
  return tensors.flatMap(([key, t]) => (overrides[key] === null ? [] : [{ ...t, ...overrides[key] }]));
}

describe('TensorRT engine I/O (no TensorRT needed)', () => {
  it('accepts an exported BERT engine and reads its profile', () => {
    expect(io.plan(exported())).toEqual({
      idsName: 'input_ids', maskName: 'attention_mask', typeIdsName: 'token_type_ids', inputType: 'int64',
      outputName: 'logits', outputType: 'fp32', numLabels: 1, minBatch: 1, maxBatch: 512, minSeq: 1, optSeq: 128, maxSeq: 512,
    });
  });

  it('accepts XLM-R engines without token_type_ids, int32 inputs, fp16/bf16 and two-label or 1-D logits', () => {
    const plan = io.plan(exported({ types: null, ids: { type: 'int32' }, mask: { type: 'int32' }, logits: { type: 'fp16', shape: [-1, 2] } }));
    expect(plan).toMatchObject({ typeIdsName: null, inputType: 'int32', outputType: 'fp16', numLabels: 2 });
    expect(io.plan(exported({ logits: { type: 'bf16', shape: [-1] } }))).toMatchObject({ outputType: 'bf16', numLabels: 1 });
    // Extra outputs are fine when one is called logits; a single output of any name is taken as the logits.
    const extra = [...exported(), { name: 'hidden', input: false, type: 'fp32' as const, shape: [-1, -1, 64] }];
    expect(io.plan(extra).outputName).toBe('logits');
    expect(io.plan(exported({ logits: { name: 'output_0' } })).outputName).toBe('output_0');
  });

  it('takes fixed dimensions as a one-point range', () => {
    const fixed = exported({
      ids: { shape: [8, 128], profileMin: [], profileOpt: [], profileMax: [] },
      mask: { shape: [8, 128], profileMin: [], profileOpt: [], profileMax: [] },
      types: { shape: [8, 128], profileMin: [], profileOpt: [], profileMax: [] },
      logits: { shape: [8, 1] },
    });
    expect(io.plan(fixed)).toMatchObject({ minBatch: 8, maxBatch: 8, minSeq: 128, maxSeq: 128 });
    expect(io.buckets(io.plan(fixed))).toEqual([128]);
  });

  it.each<[string, NativeTensorDesc[], RegExp]>([
    ['a missing attention_mask', exported({ mask: null }), /no input named 'attention_mask'/],
    ['float inputs', exported({ ids: { type: 'fp32' } }), /input 'input_ids' is fp32, not int32 or int64/],
    ['mixed integer types', exported({ mask: { type: 'int32' } }), /all inputs must share one type/],
    ['an input it cannot feed', [...exported(), { name: 'position_ids', input: true, type: 'int64', shape: [-1, -1] }], /'position_ids' is not one trt-rerank can feed/],
    ['3-D inputs', exported({ ids: { shape: [-1, -1, 1] } }), /has shape \[-1,-1,1\], not \[batch, sequence\]/],
    ['a dynamic input without a profile', exported({ ids: { profileMin: [], profileOpt: [], profileMax: [] } }), /no shape in optimization profile 0/],
    ['inputs with different ranges', exported({ mask: { profileMax: [256, 512] } }), /different shape range/],
    ['three labels', exported({ logits: { shape: [-1, 3] } }), /not \[batch, 1\], \[batch, 2\] or \[batch\]/],
    ['int logits', exported({ logits: { type: 'int32' } }), /output 'logits' is int32, not fp32, fp16 or bf16/],
    ['no output', exported({ logits: null }), /no output/],
    ['several outputs, none named logits', [...exported({ logits: { name: 'a' } }), { name: 'b', input: false, type: 'fp32', shape: [-1, 1] }], /several outputs and none named 'logits'/],
  ])('refuses %s, listing what the engine has and what is needed', (_, tensors, problem) => {
    let message = '';
    try {
      io.plan(tensors);
    } catch (error) {
      message = (error as Error).message;
      expect((error as { code?: string }).code).toBe('ERR_INVALID_ARGUMENT');
    }
    expect(message).toMatch(problem);
    expect(message).toMatch(/It has inputs: .*input_ids|It has inputs: /);
    expect(message).toMatch(/Needed: inputs input_ids and attention_mask/);
  });

  it('every problem is reported at once', () => {
    expect(() => io.plan(exported({ mask: null, logits: { shape: [-1, 5] } }))).toThrow(/no input named 'attention_mask'.*; output 'logits' has shape/);
  });

  const plan = (over: Partial<NativeEngineIoPlan> = {}): NativeEngineIoPlan => ({ ...io.plan(exported()), ...over });

  it('sequence buckets: 16, 32, then multiples of 64, clamped to the profile, ending at its max', () => {
    expect(io.buckets(plan())).toEqual([16, 32, 64, 128, 192, 256, 320, 384, 448, 512]);
    expect(io.buckets(plan({ minSeq: 40, maxSeq: 200 }))).toEqual([40, 64, 128, 192, 200]);
    expect(io.buckets(plan({ minSeq: 1, maxSeq: 24 }))).toEqual([16, 24]);
    expect(io.buckets(plan({ minSeq: 1, maxSeq: 8194 })).at(-1)).toBe(8194);
  });

  it('batch shapes: the smallest bucket that holds the longest pair; rows raised to the profile minimum', () => {
    expect(io.batchShape(plan(), 512, 130)).toEqual({ rows: 512, seqLen: 192 });
    expect(io.batchShape(plan(), 3, 7)).toEqual({ rows: 3, seqLen: 16 });
    expect(io.batchShape(plan(), 1, 512)).toEqual({ rows: 1, seqLen: 512 });
    expect(io.batchShape(plan({ minBatch: 4 }), 1, 20)).toEqual({ rows: 4, seqLen: 32 });
    expect(() => io.batchShape(plan(), 513, 10)).toThrow(/batch of 513 pairs does not fit the engine's profile \(batch 1 to 512\)/);
    expect(() => io.batchShape(plan(), 2, 600)).toThrow(/600 tokens is longer than the engine's profile allows \(512\): load with maxLength <= 512/);
  });
});

describe('TensorRT backend selection without TensorRT', () => {
  const model = useTinyModel('tiny-bert');

  // What this build and machine lack, in the order Reranker.load checks it.
  const expectedWhy = !hasTensorRtBackend
    ? /no TensorRT backend \(it was compiled without TensorRT headers\): rebuild with TENSORRT_INCLUDE_DIR/
    : !system.tensorrt.found
      ? /TensorRT 1[01] runtime not found .*compiled against TensorRT 1[01]\.\d+\.\d+ headers and loads libnvinfer\.so\.1[01]/
      : /no CUDA device|no engine|does not exist/;

  it("backend 'tensorrt' where it cannot run is a BackendUnavailableError saying why", async () => {
    const load = Reranker.load(model.dir, { backend: 'tensorrt', engine: join(model.dir, 'missing.plan') });
    await expect(load).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(load).rejects.toThrow(expectedWhy);
  });

  // What 'auto' does with an engine it cannot run (Reranker.load): passes over it, saying why, to the CUDA backend
  // where that can run, else to the CPU. Where TensorRT can run it loads the engine, and a bad one is an error.
  const tensorRtRuns = addon.backendStatus(0).some((b) => b.name === 'tensorrt' && b.inBuild && !b.unavailable);
  const cudaRuns = cudaBackendSkipReason("'auto' choosing the CUDA backend (the CPU is expected instead)") === '';

  it.skipIf(tensorRtRuns)("'auto' with a model.plan in the folder passes over it to the CUDA backend or the CPU and says why", async () => {
    const plan = join(model.dir, 'model.plan');
    await writeFile(plan, 'not an engine');
    const r = await Reranker.load(model.dir, { backend: 'auto' });
    try {
      expect(r.info.backend).toBe(cudaRuns ? 'cuda' : 'cpu');
      expect(r.info.backendReason).toMatch(cudaRuns ? /^auto: CUDA backend on .+ \(TensorRT engine / : /^auto: TensorRT engine /);
      expect(r.info.backendReason).toContain(`TensorRT engine ${plan} found, but`);
      expect(r.info.backendReason).toMatch(expectedWhy);
      if (!cudaRuns) expect(r.info.backendReason).toMatch(/; using the CPU backend$/);
      expect((await r.rerank('q', ['a', 'b'], { topK: 1 })).length).toBe(1);
    } finally {
      await r.close();
    }
  });

  it.skipIf(!tensorRtRuns)("'auto' with a model.plan TensorRT can run loads it, and one that is not an engine is refused naming it", async () => {
    const plan = join(model.dir, 'model.plan');
    await writeFile(plan, 'not an engine');
    await expect(Reranker.load(model.dir, { backend: 'auto' })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining(`could not load the engine ${plan}`),
    });
  });

  it('the engine option is checked', async () => {
    await expect(Reranker.load(model.dir, { engine: '' as string })).rejects.toThrow(/options.engine/);
  });

  it('systemInfo says which TensorRT headers the build has and why libnvinfer did not load', () => {
    expect(system.tensorrt.compiled === null).toBe(!hasTensorRtBackend);
    if (!system.tensorrt.found) expect(system.tensorrt.error).toMatch(/libnvinfer\.so\.1[01]/);
  });

  it('build-engine without TensorRT exits 1 naming the fix; usage errors exit 2', async () => {
    const cli = join(REPO_ROOT, 'dist', 'cli.js');
    const run = (args: string[]) =>
      promisify(execFile)(process.execPath, [cli, ...args], { env: { ...process.env } }).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
      );
    const onnx = join(model.dir, 'model.onnx');
    await writeFile(onnx, 'not onnx');
    const built = await run(['build-engine', '--onnx', onnx, '--out', join(model.dir, 'out.plan')]);
    expect(built.code).toBe(1);
    expect(built.stderr).toMatch(hasTensorRtBackend ? /ERR_BACKEND_UNAVAILABLE: TensorRT 1[01] runtime not found/ : /ERR_BACKEND_UNAVAILABLE: this build of trt-rerank has no TensorRT backend.*TENSORRT_INCLUDE_DIR/);
    expect((await run(['build-engine', '--onnx', onnx])).code).toBe(2);
    expect((await run(['build-engine', '--onnx', onnx, '--out', 'x', '--fp16', '--bf16'])).code).toBe(2);
    expect((await run(['build-engine', '--onnx', onnx, '--out', 'x', '--max-seq', '64', '--opt-seq', '128'])).stderr).toMatch(/--opt-seq \(128\) must not exceed --max-seq \(64\)/);
  });
});
