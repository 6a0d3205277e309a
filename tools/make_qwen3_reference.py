#!/usr/bin/env python3
"""Reference scores for the generated Qwen3 test models, from PyTorch/transformers scoring them the way the
Qwen3-Reranker model card does (the numeric and tokenization oracle of test/native/qwen3.test.ts).

Runs on the GPU machine (python3 with torch, transformers, tokenizers; no network). For each model folder written
by tools/generate-test-models.mjs (tiny-qwen3*: random weights, the real Qwen3 tokenizer) it formats every
(instruction, query, document) of test/fixtures/reference-texts.json with the card's template, tokenizes it with
transformers' AutoTokenizer over the folder exactly as the card's process_inputs does (prefix and suffix encoded on
their own, the middle cut at its end by truncation='longest_first' to max_length - len(prefix) - len(suffix)), runs
the model in float64 on the CPU one pair at a time (so positions are 0..L-1 whatever the batch: the card's batched
example left-pads without position ids, which shifts scores with the batch), and writes
test/fixtures/reference/<model>.json: ids and the label logits ([no, yes] rows of the LM head at the last token for
Qwen3ForCausalLM, the score head's for Qwen3ForSequenceClassification), with the sha256 of the weights it read.

  node tools/generate-test-models.mjs test/.models
  python3 tools/make_qwen3_reference.py test/.models test/fixtures/reference tiny-qwen3 tiny-qwen3-bf16 tiny-qwen3-seq-cls
"""
import hashlib
import json
import os
import sys

import torch
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The model card's template (Qwen/Qwen3-Reranker-0.6B README, "Transformers Usage").
PREFIX = ("<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct provided. "
          "Note that the answer can only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n")
SUFFIX = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
DEFAULT_INSTRUCTION = "Given a web search query, retrieve relevant passages that answer the query"
INSTRUCTIONS = [None, "Retrieve passages that name a city, in any language"]
MAX_LENGTHS = [8192, 100, 64]


def format_instruction(instruction, query, doc):
    if instruction is None:
        instruction = DEFAULT_INSTRUCTION
    return "<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {doc}".format(instruction=instruction, query=query, doc=doc)


def load_texts():
    with open(os.path.join(ROOT, "test", "fixtures", "reference-texts.json"), encoding="utf-8") as f:
        spec = json.load(f)
    long_doc = spec["long_doc_paragraph"] * spec["long_doc_repeats"]
    docs = [long_doc if d == "LONG" else d for d in spec["docs"]]
    return spec["queries"], docs


def weights_digest(folder):
    h = hashlib.sha256()
    names = sorted(n for n in os.listdir(folder) if n.endswith(".safetensors"))
    for n in names:
        with open(os.path.join(folder, n), "rb") as f:
            h.update(f.read())
    return h.hexdigest(), names


def main():
    models_root, out_dir, names = sys.argv[1], sys.argv[2], sys.argv[3:]
    os.makedirs(out_dir, exist_ok=True)
    queries, docs = load_texts()
    for name in names:
        folder = os.path.join(models_root, name)
        digest, files = weights_digest(folder)
        with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
            architecture = json.load(f)["architectures"][0]
        causal_lm = architecture == "Qwen3ForCausalLM"
        tokenizer = AutoTokenizer.from_pretrained(folder)
        cls = AutoModelForCausalLM if causal_lm else AutoModelForSequenceClassification
        model = cls.from_pretrained(folder, dtype=torch.float64, attn_implementation="eager")
        model.eval()
        no_id = tokenizer.convert_tokens_to_ids("no")
        yes_id = tokenizer.convert_tokens_to_ids("yes")
        prefix_tokens = tokenizer.encode(PREFIX, add_special_tokens=False)
        suffix_tokens = tokenizer.encode(SUFFIX, add_special_tokens=False)
        cases = []
        for max_length in MAX_LENGTHS:
            budget = max_length - len(prefix_tokens) - len(suffix_tokens)
            if budget < 1:
                continue
            for ii, instruction in enumerate(INSTRUCTIONS):
                for qi, q in enumerate(queries):
                    texts = [format_instruction(instruction, q, d) for d in docs]
                    middle = tokenizer(texts, padding=False, truncation="longest_first", return_attention_mask=False, max_length=budget)
                    pairs = []
                    for ele in middle["input_ids"]:
                        ids = prefix_tokens + ele + suffix_tokens
                        with torch.no_grad():
                            x = torch.tensor([ids], dtype=torch.long)
                            if causal_lm:
                                row = model(input_ids=x, logits_to_keep=1).logits[0, -1]
                                logits = [row[no_id].item(), row[yes_id].item()]
                            else:
                                logits = model(input_ids=x).logits[0].tolist()
                        pairs.append({"ids": ids, "logits": logits})
                    cases.append({"maxLength": max_length, "instruction": ii, "query": qi, "pairs": pairs})
        out = {
            "model": name,
            "architecture": architecture,
            "weightsSha256": digest,
            "weightFiles": files,
            "labelTokenIds": [no_id, yes_id] if causal_lm else None,
            "prefixTokens": prefix_tokens,
            "suffixTokens": suffix_tokens,
            "generatedBy": "tools/make_qwen3_reference.py (torch %s, transformers %s, float64 on CPU, eager attention)"
            % (torch.__version__, __import__("transformers").__version__),
            "instructions": INSTRUCTIONS,
            "defaultInstruction": DEFAULT_INSTRUCTION,
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
