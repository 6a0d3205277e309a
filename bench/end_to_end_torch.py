#!/usr/bin/env python3
"""The seed approach end to end, for bench/end-to-end.mjs: text in, top-10 out.
  HF fast tokenizer on the pair list (padding=True, truncation=True, max_length=256), the fp16 model in batches
  of 512 on the GPU, torch.cat, torch.topk, the top-10 back on the host.

    python3 bench/end_to_end_torch.py MODEL_DIR TOKENIZER_DIR DOCS.json
DOCS.json: {"query": str, "calls": [[docs of call 0, repeat 0], [repeat 1], ...] per size}. Prints JSON
[{"total": [ms...], "tokenize": [ms...]}, ...] per size; repeat 0 is the warm-up and is not reported.
"""
import json
import sys
import time

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

model_dir, tokenizer_dir, docs_path = sys.argv[1:4]
tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir, use_fast=True)
model = AutoModelForSequenceClassification.from_pretrained(model_dir, dtype=torch.float16, attn_implementation="sdpa").cuda().eval()
spec = json.load(open(docs_path))
query = spec["query"]


def rerank(docs, k=10):
    start = time.perf_counter()
    encoded = tokenizer([query] * len(docs), docs, padding=True, truncation=True, max_length=256, return_tensors="pt")
    tokenized = time.perf_counter()
    scores = []
    with torch.inference_mode():
        for i in range(0, len(docs), 512):
            batch = {name: value[i : i + 512].cuda() for name, value in encoded.items()}
            scores.append(model(**batch).logits[:, 0].float())
        top = torch.topk(torch.cat(scores), min(k, len(docs)))
        top.indices.cpu(), top.values.cpu()
    end = time.perf_counter()
    return (end - start) * 1000.0, (tokenized - start) * 1000.0


results = []
for calls in spec["calls"]:
    rerank(calls[0])  # warm-up
    total, tokenize = [], []
    for docs in calls[1:]:
        t, tok = rerank(docs)
        total.append(t)
        tokenize.append(tok)
    results.append({"total": total, "tokenize": tokenize})
print(json.dumps(results))
