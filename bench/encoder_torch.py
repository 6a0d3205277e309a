#!/usr/bin/env python3
"""The PyTorch baselines for bench/encoder.mjs, on the same weight files and the same token ids:
  padded  the seed's way: every pair padded to 256, batches of 512, fp16, SDPA
  sorted  pairs sorted by length, each batch of 512 padded to its own longest
Ids already on the GPU (tokenization excluded), CUDA-synchronised wall time per call, median of REPEATS.

    python3 bench/encoder_torch.py MODEL_DIR IDS.bin:REPEATS [IDS.bin:REPEATS ...]
IDS.bin: int32 little-endian: count, then count lengths, then the ids of every pair back to back (each pair's
token types: 0 for the first 16 tokens (the query), 1 after, for models with two token types). Prints JSON
[{"padded": [ms...], "sorted": [ms...]}, ...], one entry per file.
"""
import json
import sys
import time

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification

model_dir = sys.argv[1]
model = AutoModelForSequenceClassification.from_pretrained(model_dir, dtype=torch.float16, attn_implementation="sdpa").cuda().eval()
two_types = getattr(model.config, "type_vocab_size", 1) > 1
takes_types = getattr(model.config, "type_vocab_size", None) is not None  # ModernBERT has no token types
QUERY = 16
BATCH = 512


def batches(pairs, lengths, order, pad_to):
    count = len(pairs)
    out = []
    for start in range(0, count, BATCH):
        idx = order[start : start + BATCH]
        width = pad_to or int(max(lengths[i] for i in idx))
        ids = torch.zeros(len(idx), width, dtype=torch.long)
        mask = torch.zeros(len(idx), width, dtype=torch.long)
        types = torch.zeros(len(idx), width, dtype=torch.long)
        for r, i in enumerate(idx):
            n = min(int(lengths[i]), width)
            ids[r, :n] = torch.from_numpy(pairs[i][:n].astype(np.int64))
            mask[r, :n] = 1
            if two_types:
                types[r, QUERY:n] = 1
        out.append((ids.cuda(), mask.cuda(), types.cuda()))
    return out


def run(prepared):
    with torch.inference_mode():
        for ids, mask, types in prepared:
            extra = {"token_type_ids": types} if takes_types else {}
            logits = model(input_ids=ids, attention_mask=mask, **extra).logits
            torch.topk(logits[:, -1].float(), min(10, logits.shape[0]))
    torch.cuda.synchronize()


results = []
for arg in sys.argv[2:]:
    ids_path, repeats = arg.rsplit(":", 1)
    repeats = int(repeats)
    raw = np.fromfile(ids_path, dtype=np.int32)
    count = int(raw[0])
    lengths = raw[1 : 1 + count]
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    flat = raw[1 + count :]
    pairs = [flat[offsets[i] : offsets[i + 1]] for i in range(count)]
    result = {}
    for name, order, pad_to in (
        ("padded", list(range(count)), 256),
        ("sorted", sorted(range(count), key=lambda i: -int(lengths[i])), None),
    ):
        prepared = batches(pairs, lengths, order, pad_to)
        run(prepared)  # warm-up
        run(prepared)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            run(prepared)
            times.append((time.perf_counter() - start) * 1000.0)
        result[name] = times
    results.append(result)
print(json.dumps(results))
