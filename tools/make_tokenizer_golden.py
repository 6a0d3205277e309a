#!/usr/bin/env python3
"""Golden (query, document) pair encodings from HF tokenizers (Rust), for test/unit/tokenizer-golden.test.ts.

    python3 tools/make_tokenizer_golden.py OUT.json TOKENIZER_DIR [TOKENIZER_DIR ...]

Each TOKENIZER_DIR holds a tokenizer.json; its folder name is the name the test looks it up by
(../shared/models/<name> or test/.models/<name>). The generated ones are written by the node side first:
    node tools/generate-test-models.mjs test/.models   # tiny-bert, tiny-xlmr, ... and tiny-bpe (tokenizer only)
    python3 tools/make_tokenizer_golden.py test/fixtures/tokenizer-golden.json \\
        .cache/shared-models/bert-base-uncased-tokenizer test/.models/tiny-bert test/.models/tiny-xlmr test/.models/tiny-bpe
(tiny-bpe is the ModernBERT-style byte-level BPE of lib/tiny-models/tokenizers.ts; a folder of EXPECTED left out
is reported, and the test skips its cases with a printed reason). For every folder, every query and document of
test/fixtures/tokenizer-texts.json, both truncation strategies and several max lengths, this records what
    tok = Tokenizer.from_file(tokenizer.json); tok.no_padding()
    tok.enable_truncation(max_length, strategy=...); tok.encode(query, doc)   # add_special_tokens=True
gives: the ids and type ids, or the message of the error Rust raises. A TemplateProcessing tokenizer is also
recorded with its post_processor swapped for BertProcessing, RobertaProcessing and a Sequence around the
template, built from the template's first two special tokens (CLS-like, SEP-like), so all kinds are covered.

It also records "truncation_sweep": a one-token-per-word WordLevel tokenizer (WhitespaceSplit) encoding
n1 words against n2 words for every n1, n2 < SWEEP_N, max_length and strategy, with no post-processor and with
a 3-special-token template, to pin down the truncation rules on their own.

Needs only the standard library and `tokenizers` (made with 0.23). Deterministic: same inputs, same file.
"""
import hashlib
import json
import os
import sys

import tokenizers
from tokenizers import Tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEXTS = os.path.join(ROOT, "test", "fixtures", "tokenizer-texts.json")
STRATEGIES = ["longest_first", "only_second"]
FULL_MAX_LENGTHS = [16, 32, 128, 512]
SWEEP_N = 21
# The tokenizers test/unit/tokenizer-golden.test.ts looks for: the real BERT uncased one and the generated ones.
EXPECTED = ["bert-base-uncased-tokenizer", "tiny-bert", "tiny-xlmr", "tiny-bpe"]
SWEEP_TEMPLATE = {
    "type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "[C]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
               {"SpecialToken": {"id": "[S]", "type_id": 0}}],
    "pair": [{"SpecialToken": {"id": "[C]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
             {"SpecialToken": {"id": "[S]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
             {"SpecialToken": {"id": "[S]", "type_id": 1}}],
    "special_tokens": {"[C]": {"id": "[C]", "ids": [2], "tokens": ["[C]"]}, "[S]": {"id": "[S]", "ids": [3], "tokens": ["[S]"]}},
}


def load_texts():
    with open(TEXTS, "rb") as f:
        raw = f.read()
    texts = json.loads(raw.decode("utf-8"))
    docs = list(texts["documents"])
    for long_doc in texts["long_documents"]:
        docs.append(long_doc["text"] * long_doc["times"])
    return hashlib.sha256(raw).hexdigest(), texts["queries"], docs


def variants(tokenizer_json):
    """(name, post_processor override or None, max lengths)."""
    out = [("as_is", None, FULL_MAX_LENGTHS)]
    pp = tokenizer_json.get("post_processor")
    if not pp or pp.get("type") != "TemplateProcessing":
        return out
    names = [piece["SpecialToken"]["id"] for piece in pp["pair"] if "SpecialToken" in piece]
    cls = [names[0], pp["special_tokens"][names[0]]["ids"][0]]
    sep = [names[1], pp["special_tokens"][names[1]]["ids"][0]]
    out.append(("bert_processing", {"type": "BertProcessing", "sep": sep, "cls": cls}, [16, 32]))
    out.append((
        "roberta_processing",
        {"type": "RobertaProcessing", "sep": sep, "cls": cls, "trim_offsets": True, "add_prefix_space": False},
        [16, 32],
    ))
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    out.append(("sequence", {"type": "Sequence", "processors": [byte_level, pp]}, [16]))
    return out


def sweep_tokenizer_json(post_processor):
    """tokenizer.json of the sweep tokenizer: words "a" (id 0) and "b" (id 1), one token each."""
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for i, c in [(2, "[C]"), (3, "[S]"), (4, "[U]")]],
        "normalizer": None, "pre_tokenizer": {"type": "WhitespaceSplit"}, "post_processor": post_processor,
        "decoder": None, "model": {"type": "WordLevel", "vocab": {"a": 0, "b": 1, "[C]": 2, "[S]": 3, "[U]": 4},
                                   "unk_token": "[U]"},
    }


def truncation_sweep():
    """{variant: {strategy: {max_length: "k1,k2 k1,k2 ... (E where Rust raises)", n1-major}}}."""
    out = {}
    for variant, pp, specials in [("none", None, 0), ("template", SWEEP_TEMPLATE, 3)]:
        tj = sweep_tokenizer_json(pp)
        tok = Tokenizer.from_str(json.dumps(tj))
        out[variant] = {"tokenizer_json": tj, "results": {}}
        for strategy in STRATEGIES:
            by_length = {}
            for max_length in range(specials + 1, specials + 21):
                tok.enable_truncation(max_length, strategy=strategy)
                cells = []
                for n1 in range(SWEEP_N):
                    for n2 in range(SWEEP_N):
                        try:
                            ids = tok.encode(" ".join(["a"] * n1), " ".join(["b"] * n2)).ids
                            cells.append(f"{ids.count(0)},{ids.count(1)}")
                        except Exception:
                            cells.append("E")
                by_length[str(max_length)] = " ".join(cells)
            out[variant]["results"][strategy] = by_length
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out_path, dirs = sys.argv[1], sys.argv[2:]
    missing = sorted(set(EXPECTED) - {os.path.basename(os.path.normpath(d)) for d in dirs})
    if missing:
        print(f"warning: no folder for {', '.join(missing)}: the golden file will have no cases for them", file=sys.stderr)
    texts_sha, queries, docs = load_texts()
    cases = []
    for d in dirs:
        path = os.path.join(d, "tokenizer.json")
        with open(path, "rb") as f:
            raw = f.read()
        tokenizer_json = json.loads(raw.decode("utf-8"))
        name = os.path.basename(os.path.normpath(d))
        for variant, post_processor, max_lengths in variants(tokenizer_json):
            tj = dict(tokenizer_json)
            if post_processor is not None:
                tj["post_processor"] = post_processor
            tok = Tokenizer.from_str(json.dumps(tj))
            tok.no_padding()
            for max_length in max_lengths:
                for strategy in STRATEGIES:
                    tok.enable_truncation(max_length, strategy=strategy)
                    ids, type_ids, errors = [], [], {}
                    for q in queries:
                        for doc in docs:
                            try:
                                enc = tok.encode(q, doc)
                            except Exception as e:  # Rust's TruncationError arrives as a plain Exception
                                errors[str(len(ids))] = str(e)
                                ids.append(None)
                                type_ids.append(None)
                                continue
                            ids.append(enc.ids)
                            type_ids.append("".join(str(t) for t in enc.type_ids))
                    cases.append({
                        "tokenizer": name,
                        "tokenizer_json_sha256": hashlib.sha256(raw).hexdigest(),
                        "variant": variant,
                        "post_processor": post_processor,
                        "max_length": max_length,
                        "strategy": strategy,
                        "ids": ids,
                        "type_ids": type_ids,
                        "errors": errors,
                    })
                    print(f"{name} {variant} max_length={max_length} {strategy}: {len(ids)} pairs, {len(errors)} errors",
                          file=sys.stderr)
    golden = {
        "generator": "tools/make_tokenizer_golden.py",
        "tokenizers_version": tokenizers.__version__,
        "texts_sha256": texts_sha,
        "queries": len(queries),
        "documents": len(docs),
        "truncation_sweep": truncation_sweep(),
        "cases": cases,
    }
    with open(out_path, "w", encoding="utf-8") as f:
        # One case per line keeps diffs readable.
        f.write('{"generator": %s, "tokenizers_version": %s, "texts_sha256": %s, "queries": %d, "documents": %d,\n'
                % (json.dumps(golden["generator"]), json.dumps(golden["tokenizers_version"]), json.dumps(texts_sha),
                   len(queries), len(docs)))
        f.write('"sweep_n": %d, "truncation_sweep": %s,\n"cases": [\n'
                % (SWEEP_N, json.dumps(golden["truncation_sweep"], separators=(",", ":"))))
        f.write(",\n".join(json.dumps(c, separators=(",", ":"), ensure_ascii=True) for c in cases))
        f.write("\n]}\n")
    print(f"wrote {out_path}: {len(cases)} cases, {os.path.getsize(out_path)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
