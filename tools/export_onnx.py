#!/usr/bin/env python3
"""Exports a Hugging Face cross-encoder to ONNX for `trt-rerank build-engine` (or trtexec).

    python3 tools/export_onnx.py --model ./bge-reranker-base --out ./bge-reranker-base/model.onnx [--int32] [--opset 17]

What the TensorRT backend expects (native/backends/tensorrt/engine_io.h) and this script writes:
  inputs   input_ids [batch, sequence], attention_mask [batch, sequence], and token_type_ids [batch, sequence]
           for models with more than one token type (BERT; not XLM-R); int64 by default, int32 with --int32
           (cast to int64 inside the graph, as the embedding gathers expect)
  output   logits [batch, num_labels] in float32
  opset    >= 17, so LayerNorm stays one LayerNormalization op that TensorRT runs with fp32 statistics

Needs python3 with torch and transformers (and onnx, to print the result's I/O). The weights are read as float32
whatever the checkpoint stores: precision is chosen when the engine is built (docs/tensorrt.md).
"""
import argparse
import json
import os
import sys

import torch
from transformers import AutoConfig, AutoModelForSequenceClassification


class CrossEncoderForExport(torch.nn.Module):
    """The classifier's logits from the named inputs, with integer inputs widened to int64 inside the graph."""

    def __init__(self, model, with_token_types):
        super().__init__()
        self.model = model
        self.with_token_types = with_token_types

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        kwargs = {"input_ids": input_ids.long(), "attention_mask": attention_mask.long()}
        if self.with_token_types:
            kwargs["token_type_ids"] = token_type_ids.long()
        return self.model(**kwargs).logits


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="Hugging Face model folder (config.json + weights)")
    parser.add_argument("--out", required=True, help="ONNX file to write")
    parser.add_argument("--int32", action="store_true", help="int32 inputs (default int64)")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset, at least 17 (default 17)")
    args = parser.parse_args()
    if args.opset < 17:
        sys.exit("export_onnx: opset must be >= 17 (LayerNormalization as one op)")

    config = AutoConfig.from_pretrained(args.model)
    model = AutoModelForSequenceClassification.from_pretrained(args.model, torch_dtype=torch.float32, attn_implementation="eager")
    model.eval()
    with_token_types = getattr(config, "type_vocab_size", 1) > 1
    wrapper = CrossEncoderForExport(model, with_token_types)

    dtype = torch.int32 if args.int32 else torch.int64
    batch, seq = 2, 16
    dummy = (
        torch.ones(batch, seq, dtype=dtype),
        torch.ones(batch, seq, dtype=dtype),
        torch.zeros(batch, seq, dtype=dtype),
    )
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if with_token_types else [])
    dims = {0: "batch", 1: "sequence"}
    export_kwargs = dict(
        input_names=names,
        output_names=["logits"],
        dynamic_axes={**{n: dims for n in names}, "logits": {0: "batch"}},
        opset_version=args.opset,
        do_constant_folding=True,
    )
    inputs = dummy[: len(names)]
    with torch.no_grad():
        try:
            # The TorchScript exporter takes dynamic_axes; newer torch defaults to the dynamo exporter.
            torch.onnx.export(wrapper, inputs, args.out, dynamo=False, **export_kwargs)
        except TypeError:
            torch.onnx.export(wrapper, inputs, args.out, **export_kwargs)

    summary = {"out": args.out, "bytes": os.path.getsize(args.out), "inputs": names, "inputType": str(dtype).replace("torch.", ""),
               "numLabels": config.num_labels, "opset": args.opset}
    try:
        import onnx

        graph = onnx.load(args.out, load_external_data=False).graph
        summary["graphInputs"] = [i.name for i in graph.input]
        summary["graphOutputs"] = [o.name for o in graph.output]
        summary["layerNormOps"] = sum(1 for n in graph.node if n.op_type == "LayerNormalization")
    except ImportError:
        pass
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
