#!/usr/bin/env bash
# docs/recipe_keys.md is `linea config --keys` verbatim, so it lists every key the reader
# accepts with its current default.
# Usage: recipe_keys_doc_test.sh PATH/TO/linea PATH/TO/docs/recipe_keys.md
set -u
linea="$1"
doc="$2"
if ! diff -u "$doc" <("$linea" config --keys); then
  echo "FAIL: $doc differs from \`linea config --keys\` (diff above); regenerate it with:"
  echo "  $linea config --keys > $doc"
  exit 1
fi
echo "ok: $doc matches linea config --keys"
