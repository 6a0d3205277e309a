#!/usr/bin/env python3
"""How far PyTorch/transformers itself lands from its float64 reference when it runs a test model in fp16 or
bf16 on the GPU: the yardstick for the CUDA backend's own tolerances (test/gpu/cuda-backend.test.ts).

    python3 tools/torch_precision.py test/.models test/fixtures/reference tiny-modernbert tiny-modernbert-cls ...

For each model: every pair of test/fixtures/reference/<model>.json, alone (no padding), through
AutoModelForSequenceClassification in fp16 and bf16 (SDPA, CUDA); prints the largest |raw score - reference raw
score| (raw: the logit, or logit1 - logit0 for two labels) per dtype. Qwen3 fixtures (tools/make_qwen3_reference.py,
"architecture" Qwen3ForCausalLM): AutoModelForCausalLM, raw = logit(yes) - logit(no) at the last position.
"""
import json
import os
import sys

import torch
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification


def raw(logits):
    return logits[1] - logits[0] if len(logits) == 2 else logits[0]


def main():
    models_root, fixtures, names = sys.argv[1], sys.argv[2], sys.argv[3:]
    for name in names:
        with open(os.path.join(fixtures, name + ".json"), encoding="utf-8") as f:
            ref = json.load(f)
        pairs = [p for c in ref["cases"] for p in c["pairs"] if "logits" in p]
        line = [name, "%d pairs" % len(pairs)]
        for dtype in (torch.float16, torch.bfloat16):
            causal_lm = ref.get("architecture") == "Qwen3ForCausalLM"
            cls = AutoModelForCausalLM if causal_lm else AutoModelForSequenceClassification
            model = cls.from_pretrained(os.path.join(models_root, name), dtype=dtype, attn_implementation="sdpa")
            model = model.cuda().eval()
            with_types = getattr(model.config, "type_vocab_size", None) is not None
            worst = 0.0
            with torch.inference_mode():
                for p in pairs:
                    ids = torch.tensor([p["ids"]], device="cuda")
                    extra = {"token_type_ids": torch.tensor([p["type_ids"]], device="cuda")} if with_types else {}
                    if causal_lm:
                        row = model(input_ids=ids, logits_to_keep=1).logits[0, -1].float()
                        got = [row[i].item() for i in ref["labelTokenIds"]]
                    else:
                        got = model(input_ids=ids, **extra).logits[0].float().tolist()
                    worst = max(worst, abs(raw(got) - raw(p["logits"])))
            line.append("%s %.2e" % (str(dtype).replace("torch.", ""), worst))
        print("  ".join(line))


if __name__ == "__main__":
    main()
