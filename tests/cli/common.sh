# Sourced by the end-to-end CLI tests after they set `linea` (the binary): failure counting,
# the one-line bad-input check and the real-text corpus they train on.
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect_user_error "message fragment" args...: `linea args...` must exit 2 with exactly one
# line on stderr that contains the fragment (bad input gets one clear error).
expect_user_error() {
  local want="$1"; shift
  local err rc lines
  err=$("$linea" "$@" 2>&1 >/dev/null); rc=$?
  lines=$(printf '%s\n' "$err" | grep -c .)
  if [[ $rc -ne 2 || "$err" != *"$want"* || $lines -ne 1 ]]; then fail "linea $* -> exit $rc: $err (wanted exit 2 and one line with '$want')"
  else echo "ok: $err"; fi
}

# In the current folder: Genesis (train.txt) and Ruth (valid.txt), one KJV verse per line;
# a SentencePiece model (vocab 400) trained on Genesis (tok/kjv.model); and token shards of
# both made with it (train/, valid/).
prepare_kjv_shards() {
  bible -f "Ge1:1-Ge50:26" | sed 's/^[^ ]* //' > train.txt
  bible -f "Ruth1:1-Ruth4:22" | sed 's/^[^ ]* //' > valid.txt
  "$linea" prepare --tokenizer tok/kjv.model --train-vocab 400 --input train.txt --output train >/dev/null || fail "prepare train"
  "$linea" prepare --tokenizer tok/kjv.model --input valid.txt --output valid >/dev/null || fail "prepare valid"
}
