#!/usr/bin/env bash
# The quickstart: set up, build the KJV corpus (books held out for validation), train an
# 8k SentencePiece tokenizer, prepare HDF5 token shards, train recipes/quickstart.yaml on
# the CPU, and evaluate the final checkpoint's validation perplexity.
# Re-running resumes the run (or reports it is finished); extra arguments go to
# `linea train`, e.g. --set train.steps=50.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh
linea=build/train/linea

if [[ ! -f data/kjv/valid/shard_00000.h5 ]]; then
  scripts/kjv_corpus.sh data/kjv/text
  "$linea" prepare --tokenizer data/kjv/tokenizer.model --train-vocab 8000 \
    --input data/kjv/text/train.txt --output data/kjv/train --force
  "$linea" prepare --tokenizer data/kjv/tokenizer.model --input data/kjv/text/valid.txt --output data/kjv/valid --force
fi

"$linea" train recipes/quickstart.yaml --run-dir runs/quickstart --resume auto "$@"
"$linea" eval runs/quickstart --data data/kjv/valid
