#!/usr/bin/env python3
"""The Python side of bench/qwen3.mjs (issue 14): makes the random-weight Qwen3-Reranker folders, and runs
transformers on them as the Qwen3-Reranker model card does, in the same run as ours.

    python3 bench/qwen3_torch.py make MODEL_DIR TOKENIZER_DIR SPEC.json
    python3 bench/qwen3_torch.py run MODEL_DIR CALLS.json RESULT.json

make: SPEC.json is {"seed": int, "init_std": float, "max_shard_size": str, "config": {Qwen3Config fields}}. Builds
  Qwen3ForCausalLM(Qwen3Config(...)) on the GPU in bf16, every matrix N(0, init_std) from the seed and every norm
  weight N(1, 0.05) (small enough that the yes/no logits neither saturate nor sit at 0.5), saves it with
  save_pretrained (safetensors; shards past max_shard_size, so the 4B shape gets model.safetensors.index.json),
  copies TOKENIZER_DIR's tokenizer.json and tokenizer_config.json beside it, measures the GEMM rate (as run does),
  and prints one JSON line {"files", "bytes", "seconds", "gemm", ...} on stdout.
run: CALLS.json is {"query", "instruction", "docs", "maxLength", "batchSize", "calls": [{"count", "repeats"}]}; each
  call scores the first `count` documents. Two ways, the model card's code (AutoModelForCausalLM bf16 with
  attn_implementation "sdpa", AutoTokenizer padding_side='left', format_instruction / process_inputs /
  compute_logits, full logits at every position as the card computes them):
    padded  batches of batchSize in the documents' given order, each padded to its longest pair
    sorted  the same code, the documents sorted by pair length (longest first) before batching, scores put back
  Wall time per call with torch.cuda.synchronize before and after (one warm-up call first, then `repeats`), the
  peak of torch.cuda.max_memory_allocated over the timed calls, the host time spent in process_inputs, and the
  machine's dense bf16 GEMM rate (torch.matmul 8192^3, best of 10). Writes RESULT.json; a way that fails records
  {"error"} and the others go on.
"""
import json
import math
import os
import shutil
import statistics
import sys
import time
import traceback

import torch


def log(message):
    print(f"[qwen3_torch] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------- make

def qwen3_config(fields):
    """Qwen3Config from config.json-style fields, rope_theta given in the dialect this transformers takes
    (transformers 5: rope_parameters; 4.x: rope_theta)."""
    import transformers
    from transformers import Qwen3Config

    fields = dict(fields)
    theta = float(fields.pop("rope_theta"))
    # A 4.x Qwen3Config would keep an unknown rope_parameters as a plain attribute and use its default theta.
    if int(transformers.__version__.split(".")[0]) >= 5:
        config = Qwen3Config(**fields, rope_parameters={"rope_type": "default", "rope_theta": theta})
        rope = config.rope_parameters or {}
        # flat ({"rope_type", "rope_theta"}) or, where a version keys it by layer type, {"full_attention": {...}}
        got = rope.get("rope_theta", next((v.get("rope_theta") for v in rope.values() if isinstance(v, dict)), None))
    else:
        config = Qwen3Config(**fields, rope_theta=theta)
        got = config.rope_theta
    if got is None or float(got) != float(theta):
        raise RuntimeError(f"Qwen3Config (transformers {transformers.__version__}) did not take rope_theta {theta}: it holds {got!r}")
    return config


def make(model_dir, tokenizer_dir, spec_path):
    from transformers import Qwen3ForCausalLM

    spec = json.load(open(spec_path))
    started = time.perf_counter()
    config = qwen3_config(spec["config"])
    config.architectures = ["Qwen3ForCausalLM"]
    torch.manual_seed(spec["seed"])
    with torch.device("cuda"):  # built in float32 on the device (16 GB for the 4B shape: fine on an H200), then cast
        model = Qwen3ForCausalLM(config)
    model = model.to(torch.bfloat16).eval()
    # Our own init, whatever transformers' _init_weights does: the same weights on every version for one seed.
    generator = torch.Generator(device="cuda").manual_seed(spec["seed"])
    with torch.no_grad():
        for _, p in model.named_parameters():  # tied: embed_tokens once (lm_head is the same tensor)
            if p.ndim == 1:
                p.normal_(1.0, 0.05, generator=generator)  # RMSNorm weights (layers, q/k norms, final)
            else:
                p.normal_(0.0, spec["init_std"], generator=generator)
    torch.cuda.synchronize()
    built = time.perf_counter()
    parameters = sum(p.numel() for p in model.parameters())
    os.makedirs(model_dir, exist_ok=True)
    try:
        model.save_pretrained(model_dir, max_shard_size=spec["max_shard_size"])
    except TypeError:  # a transformers without max_shard_size: its own default
        model.save_pretrained(model_dir)
    saved = time.perf_counter()
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(os.path.join(tokenizer_dir, name), os.path.join(model_dir, name))
    files = sorted(os.listdir(model_dir))
    weights = [f for f in files if f.endswith(".safetensors")]
    if not weights:
        raise RuntimeError(f"save_pretrained wrote no .safetensors file in {model_dir}: {files}")
    if len(weights) > 1 and "model.safetensors.index.json" not in files:
        raise RuntimeError(f"{len(weights)} shards but no model.safetensors.index.json in {model_dir}: {files}")
    try:  # here too, so that the floor has a rate where the run mode fails
        gemm = gemm_rate()
    except Exception as error:
        gemm = {"error": f"{type(error).__name__}: {error}"}
    result = {
        "gemm": gemm,
        "files": files,
        "bytes": sum(os.path.getsize(os.path.join(model_dir, f)) for f in weights),
        "parameters": parameters,
        "buildSeconds": built - started,
        "saveSeconds": saved - built,
        "seconds": time.perf_counter() - started,
    }
    log(f"made {model_dir}: {parameters / 1e9:.2f} B parameters, {len(weights)} weight file(s), {result['bytes'] / 2**30:.2f} GiB, "
        f"built in {result['buildSeconds']:.1f} s, saved in {result['saveSeconds']:.1f} s")
    print(json.dumps(result))


# ---------------------------------------------------------------------------------------------------- run

def gemm_rate(n=8192, repeats=10):
    """Dense bf16 GEMM FLOP/s of this device: torch.matmul n^3 on random data, best of `repeats` after warm-up."""
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    best = math.inf
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        a @ b
        end.record()
        end.synchronize()
        best = min(best, start.elapsed_time(end))
    del a, b
    torch.cuda.empty_cache()
    return {"flops": 2 * n**3 / (best / 1e3), "bestMs": best, "n": n, "how": f"torch.matmul bf16 {n}^3, best of {repeats}"}


def load_model(model_dir):
    from transformers import AutoModelForCausalLM

    try:
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16, attn_implementation="sdpa")
    except TypeError:  # transformers before `dtype`
        model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.bfloat16, attn_implementation="sdpa")
    return model.cuda().eval()


class CardReranker:
    """The Qwen3-Reranker model card's "Transformers Usage" code, as people run it: the same template, tokenization,
    padding and scoring, with the tokenization time kept apart."""

    PREFIX = ("<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct provided. "
              "Note that the answer can only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n")
    SUFFIX = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"

    def __init__(self, model_dir, max_length):
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model_dir, padding_side="left")
        self.model = load_model(model_dir)
        self.max_length = max_length
        self.token_false_id = self.tokenizer.convert_tokens_to_ids("no")
        self.token_true_id = self.tokenizer.convert_tokens_to_ids("yes")
        self.prefix_tokens = self.tokenizer.encode(self.PREFIX, add_special_tokens=False)
        self.suffix_tokens = self.tokenizer.encode(self.SUFFIX, add_special_tokens=False)
        self.tokenize_seconds = 0.0
        self.padded_tokens = 0
        self.batches = 0

    @staticmethod
    def format_instruction(instruction, query, doc):
        return "<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {doc}".format(instruction=instruction, query=query, doc=doc)

    def process_inputs(self, pairs):
        start = time.perf_counter()
        inputs = self.tokenizer(pairs, padding=False, truncation="longest_first", return_attention_mask=False,
                                max_length=self.max_length - len(self.prefix_tokens) - len(self.suffix_tokens))
        for i, ele in enumerate(inputs["input_ids"]):
            inputs["input_ids"][i] = self.prefix_tokens + ele + self.suffix_tokens
        inputs = self.tokenizer.pad(inputs, padding=True, return_tensors="pt", max_length=self.max_length)
        for key in inputs:
            inputs[key] = inputs[key].to(self.model.device)
        self.tokenize_seconds += time.perf_counter() - start
        self.padded_tokens += inputs["input_ids"].numel()
        self.batches += 1
        return inputs

    @torch.no_grad()
    def compute_logits(self, inputs):
        batch_scores = self.model(**inputs).logits[:, -1, :]
        true_vector = batch_scores[:, self.token_true_id]
        false_vector = batch_scores[:, self.token_false_id]
        batch_scores = torch.stack([false_vector, true_vector], dim=1)
        batch_scores = torch.nn.functional.log_softmax(batch_scores, dim=1)
        return batch_scores[:, 1].exp().tolist()

    def pair_lengths(self, pairs):
        """Each pair's tokens as process_inputs makes them (prefix + cut middle + suffix), without padding."""
        room = self.max_length - len(self.prefix_tokens) - len(self.suffix_tokens)
        middles = self.tokenizer(pairs, add_special_tokens=False)["input_ids"]
        return [len(self.prefix_tokens) + min(len(m), room) + len(self.suffix_tokens) for m in middles]

    def score(self, instruction, query, docs, batch_size, sort):
        pairs = [self.format_instruction(instruction, query, doc) for doc in docs]
        order = list(range(len(pairs)))
        if sort:  # the sort's own tokenization counts in the call, and as tokenization
            start = time.perf_counter()
            lengths = self.pair_lengths(pairs)
            self.tokenize_seconds += time.perf_counter() - start
            order.sort(key=lambda i: -lengths[i])
        scores = [0.0] * len(pairs)
        for first in range(0, len(pairs), batch_size):
            idx = order[first : first + batch_size]
            inputs = self.process_inputs([pairs[i] for i in idx])
            for i, s in zip(idx, self.compute_logits(inputs)):
                scores[i] = s
        return scores


def time_way(card, spec, docs, repeats, sort):
    instruction, query, batch = spec["instruction"], spec["query"], spec["batchSize"]
    card.score(instruction, query, docs, batch, sort)  # warm-up: kernels, cuBLAS heuristics, the allocator
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    times, tokenize = [], []
    for _ in range(repeats):
        card.tokenize_seconds, card.padded_tokens, card.batches = 0.0, 0, 0
        torch.cuda.synchronize()
        start = time.perf_counter()
        scores = card.score(instruction, query, docs, batch, sort)
        torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1e3)
        tokenize.append(card.tokenize_seconds * 1e3)
    return {
        "ms": times, "tokenizeMs": tokenize, "peakBytes": torch.cuda.max_memory_allocated(),
        "paddedTokens": card.padded_tokens, "batches": card.batches, "scores": scores,
    }


def run(model_dir, calls_path, result_path):
    import transformers

    spec = json.load(open(calls_path))
    result = {
        "device": torch.cuda.get_device_name(0),
        "versions": f"torch {torch.__version__}, transformers {transformers.__version__}",
        "batchSize": spec["batchSize"],
        "calls": [],
    }
    try:
        result["gemm"] = gemm_rate()
        log(f"dense bf16 GEMM: {result['gemm']['flops'] / 1e12:.0f} TFLOP/s")
    except Exception as error:  # the floor falls back on the other model's run, or is left out
        result["gemm"] = {"error": f"{type(error).__name__}: {error}"}
        traceback.print_exc()
    started = time.perf_counter()
    card = CardReranker(model_dir, spec["maxLength"])
    torch.cuda.synchronize()
    result["loadSeconds"] = time.perf_counter() - started
    result["weightsBytes"] = torch.cuda.memory_allocated()
    result["prefixTokens"] = len(card.prefix_tokens)
    result["suffixTokens"] = len(card.suffix_tokens)
    result["labelTokenIds"] = [card.token_false_id, card.token_true_id]
    log(f"loaded {model_dir} in {result['loadSeconds']:.1f} s ({result['weightsBytes'] / 2**30:.2f} GiB on the device)")
    for call in spec["calls"]:
        docs = spec["docs"][: call["count"]]
        pairs = [card.format_instruction(spec["instruction"], spec["query"], d) for d in docs]
        entry = {"count": call["count"], "repeats": call["repeats"], "lengths": card.pair_lengths(pairs)}
        for name, sort in (("padded", False), ("sorted", True)):
            started = time.perf_counter()
            try:
                entry[name] = time_way(card, spec, docs, call["repeats"], sort)
                log(f"{call['count']} docs, {name}: median {statistics.median(entry[name]['ms']):.1f} ms, "
                    f"peak {entry[name]['peakBytes'] / 2**30:.2f} GiB ({time.perf_counter() - started:.1f} s with warm-up)")
            except Exception as error:  # e.g. out of memory: said, and the rest goes on
                entry[name] = {"error": f"{type(error).__name__}: {error}"}
                traceback.print_exc()
                torch.cuda.empty_cache()
        result["calls"].append(entry)
    with open(result_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] not in ("make", "run"):
        sys.exit(__doc__)
    (make if sys.argv[1] == "make" else run)(*sys.argv[2:5])
