# Sourced by the end-to-end CLI tests (train_cli_test.sh, dist_train_test.sh) after they set
# `linea` (the binary): failure counting and the real-text corpus they train on.
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# In the current folder: Genesis (train.txt) and Ruth (valid.txt), one KJV verse per line;
# a SentencePiece model (vocab 400) trained on Genesis (tok/kjv.model); and token shards of
# both made with it (train/, valid/).
prepare_kjv_shards() {
  bible -f "Ge1:1-Ge50:26" | sed 's/^[^ ]* //' > train.txt
  bible -f "Ruth1:1-Ruth4:22" | sed 's/^[^ ]* //' > valid.txt
  "$linea" prepare --tokenizer tok/kjv.model --train-vocab 400 --input train.txt --output train >/dev/null || fail "prepare train"
  "$linea" prepare --tokenizer tok/kjv.model --input valid.txt --output valid >/dev/null || fail "prepare valid"
}
