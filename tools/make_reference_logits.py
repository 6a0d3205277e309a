#!/usr/bin/env python3
"""Reference logits for the generated test models, from PyTorch/transformers (the numeric oracle).

Runs on the GPU machine (python3 with torch, transformers, tokenizers, safetensors). For each model folder
written by tools/generate-test-models.mjs it tokenizes every (query, doc) of test/fixtures/reference-texts.json
with HF tokenizers (Rust), at two maxLengths and both truncation strategies, runs the model in float64 on the
CPU (padded batch with attention mask, eager attention), and writes test/fixtures/reference/<model>.json:
ids, type ids, logits, and the sha256 of the model.safetensors it read, so tests can check that the
generator still writes the same file.

  node tools/generate-test-models.mjs test/.models
  python3 tools/make_reference_logits.py test/.models test/fixtures/reference tiny-bert tiny-bert-f16 ...

Every pair is scored in a batch of its own (no padding): its positions (BERT's, XLM-R's, ModernBERT's RoPE
positions 0..L-1) are those of the pair alone.
"""
import hashlib
import json
import os
import sys

import torch
from tokenizers import Tokenizer
from transformers import AutoModelForSequenceClassification

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_texts():
    with open(os.path.join(ROOT, "test", "fixtures", "reference-texts.json"), encoding="utf-8") as f:
        spec = json.load(f)
    long_doc = spec["long_doc_paragraph"] * spec["long_doc_repeats"]
    docs = [long_doc if d == "LONG" else d for d in spec["docs"]]
    return spec["queries"], docs


def encode(tokenizer_path, query, docs, max_length, strategy):
    tok = Tokenizer.from_file(tokenizer_path)
    tok.no_padding()
    tok.enable_truncation(max_length=max_length, strategy=strategy)
    out = []
    for d in docs:
        try:
            e = tok.encode(query, d)
            out.append({"ids": e.ids, "type_ids": e.type_ids})
        except Exception as err:  # only_second with no room for the document
            out.append({"error": str(err)})
    return out


def logits_for(model, pairs, pad_id):
    # ModernBERT reads no token type ids (its forward has no such argument).
    with_types = getattr(model.config, "type_vocab_size", None) is not None
    ok = [p for p in pairs if "ids" in p]
    if not ok:
        return
    # Each pair in a batch of its own, so no row is padded: in a padded batch with one long pair, transformers
    # 5.17's eager ModernBERT (float64, CPU) gave NaN logits for every shorter pair (GPU machine, 2026-12-01;
    # likely padding queries with no key in their sliding window).
    if len(ok) > 1:
        for p in ok:
            logits_for(model, [p], pad_id)
        return
    width = max(len(p["ids"]) for p in ok)
    ids = torch.full((len(ok), width), pad_id, dtype=torch.long)
    types = torch.zeros((len(ok), width), dtype=torch.long)
    mask = torch.zeros((len(ok), width), dtype=torch.long)
    for i, p in enumerate(ok):
        n = len(p["ids"])
        ids[i, :n] = torch.tensor(p["ids"])
        types[i, :n] = torch.tensor(p["type_ids"])
        mask[i, :n] = 1
    with torch.no_grad():
        extra = {"token_type_ids": types} if with_types else {}
        logits = model(input_ids=ids, attention_mask=mask, **extra).logits
    for p, row in zip(ok, logits.tolist()):
        p["logits"] = row


def main():
    models_root, out_dir, names = sys.argv[1], sys.argv[2], sys.argv[3:]
    os.makedirs(out_dir, exist_ok=True)
    queries, docs = load_texts()
    for name in names:
        folder = os.path.join(models_root, name)
        with open(os.path.join(folder, "model.safetensors"), "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        model = AutoModelForSequenceClassification.from_pretrained(folder, dtype=torch.float64, attn_implementation="eager")
        model.eval()
        pad_id = model.config.pad_token_id
        cases = []
        for max_length in (512, 24):
            for strategy in ("longest_first", "only_second"):
                for qi, q in enumerate(queries):
                    pairs = encode(os.path.join(folder, "tokenizer.json"), q, docs, max_length, strategy)
                    logits_for(model, pairs, pad_id)
                    cases.append({"maxLength": max_length, "truncation": strategy, "query": qi, "pairs": pairs})
        out = {
            "model": name,
            "safetensorsSha256": digest,
            "numLabels": model.config.num_labels,
            "generatedBy": "tools/make_reference_logits.py (torch %s, transformers %s, float64 on CPU)"
            % (torch.__version__, __import__("transformers").__version__),
            "queries": queries,
            "docs": docs,
            "cases": cases,
        }
        path = os.path.join(out_dir, name + ".json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
        print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
