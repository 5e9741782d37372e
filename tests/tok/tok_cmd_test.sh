#!/bin/sh
# tok_cmd_test.sh — checks `mpct tokenize` end to end, one case per ctest test.
# usage: tok_cmd_test.sh MPCT_BINARY DATA_DIR WORK_DIR CASE
# Each case checks the exit status, stdout and the stderr message; any
# difference prints what was expected and exits 1.
set -u
MPCT=$1
DATA=$2
WORK=$3
CASE=$4
OUT=$WORK/tok_cmd_$CASE.out
ERR=$WORK/tok_cmd_$CASE.err
VOCAB=$DATA/vocab.txt

fail() {
    echo "FAIL [$CASE]: $*" >&2
    echo "--- stdout:" >&2; head -c 2000 "$OUT" >&2
    echo "--- stderr:" >&2; head -c 2000 "$ERR" >&2
    exit 1
}
expect_rc() { [ "$1" -eq "$2" ] || fail "exit status $1, expected $2"; }
expect_err() { grep -q -F -- "$1" "$ERR" || fail "stderr lacks '$1'"; }
expect_out() { [ "$(cat "$OUT")" = "$1" ] || fail "stdout is '$(cat "$OUT")', expected '$1'"; }

case $CASE in
golden)
    "$MPCT" tokenize --vocab "$VOCAB" --max-len 128 --input "$DATA/tok_golden_input.txt" >"$OUT" 2>"$ERR"
    expect_rc $? 0
    cmp -s "$OUT" "$DATA/tok_golden_ids.txt" || {
        diff "$DATA/tok_golden_ids.txt" "$OUT" | head -20 >&2
        fail "output differs from tok_golden_ids.txt"
    }
    # the golden set has 6 lines longer than 128 tokens (a 7th fits exactly): one warning each
    [ "$(grep -c 'warning: .*tok_golden_input.txt:[0-9]*: .* truncated' "$ERR")" -eq 6 ] ||
        fail "expected 6 truncation warnings"
    ;;
golden_h5)
    # tok_golden_vocab.h5 is written by test_tok_golden (fixture tok_h5)
    "$MPCT" tokenize --model "$WORK/tok_golden_vocab.h5" --max-len=128 <"$DATA/tok_golden_input.txt" >"$OUT" 2>"$ERR"
    expect_rc $? 0
    cmp -s "$OUT" "$DATA/tok_golden_ids.txt" || fail "output differs from tok_golden_ids.txt"
    ;;
empty)
    printf '\n\nHello, world!\n' | "$MPCT" tokenize --vocab "$VOCAB" >"$OUT" 2>"$ERR"
    expect_rc $? 0
    expect_out "101 102
101 102
101 7592 1010 2088 999 102"
    expect_err "warning: <stdin>: 2 lines without text"
    expect_err "lines 1, 2;"
    ;;
nul)
    printf 'fine\nab\0cd\nlast\n' >"$WORK/tok_nul.txt"
    "$MPCT" tokenize --vocab "$VOCAB" --input "$WORK/tok_nul.txt" >"$OUT" 2>"$ERR"
    expect_rc $? 1
    expect_err "tok_nul.txt:2: NUL byte at byte offset 2 of the line"
    expect_out "101 2986 102"
    ;;
no_newline)
    printf 'hello' | "$MPCT" tokenize --vocab "$VOCAB" >"$OUT" 2>"$ERR"
    expect_rc $? 0
    expect_out "101 7592 102"
    ;;
bad_utf8)
    printf 'fine\ncaf\351\n' >"$WORK/tok_latin1.txt"
    "$MPCT" tokenize --vocab "$VOCAB" --input "$WORK/tok_latin1.txt" >"$OUT" 2>"$ERR"
    expect_rc $? 1
    expect_err "tok_latin1.txt:2:"
    expect_err "not valid UTF-8 at byte offset 3"
    expect_out "101 2986 102"
    ;;
truncate)
    printf 'word word word word word word word word\n' | "$MPCT" tokenize --vocab "$VOCAB" --max-len 5 >"$OUT" 2>"$ERR"
    expect_rc $? 0
    expect_out "101 2773 2773 2773 102"
    expect_err "warning: <stdin>:1: 8 word pieces, truncated to the first 3"
    ;;
missing_vocab)
    "$MPCT" tokenize --vocab "$WORK/no-such-vocab.txt" </dev/null >"$OUT" 2>"$ERR"
    expect_rc $? 1
    expect_err "no-such-vocab.txt"
    ;;
missing_input)
    "$MPCT" tokenize --vocab "$VOCAB" --input "$WORK/no-such-input.txt" >"$OUT" 2>"$ERR"
    expect_rc $? 1
    expect_err "cannot open input file $WORK/no-such-input.txt"
    ;;
vocab_no_unk)
    printf '[PAD]\n[CLS]\n[SEP]\nhello\n' >"$WORK/tok_vocab_no_unk.txt"
    "$MPCT" tokenize --vocab "$WORK/tok_vocab_no_unk.txt" </dev/null >"$OUT" 2>"$ERR"
    expect_rc $? 1
    expect_err "tok_vocab_no_unk.txt: vocabulary has no [UNK] token"
    ;;
unknown_flag)
    "$MPCT" tokenize --vocab "$VOCAB" --frobnicate </dev/null >"$OUT" 2>"$ERR"
    expect_rc $? 2
    expect_err "unknown argument '--frobnicate'"
    ;;
bad_max_len)
    "$MPCT" tokenize --vocab "$VOCAB" --max-len 1 </dev/null >"$OUT" 2>"$ERR"
    expect_rc $? 2
    expect_err "--max-len '1'"
    "$MPCT" tokenize --vocab "$VOCAB" --max-len 12x </dev/null >"$OUT" 2>"$ERR"
    expect_rc $? 2
    ;;
no_vocab)
    "$MPCT" tokenize </dev/null >"$OUT" 2>"$ERR"
    expect_rc $? 2
    expect_err "exactly one of --model"
    ;;
help)
    "$MPCT" tokenize --help >"$OUT" 2>"$ERR"
    expect_rc $? 0
    grep -q -- "--max-len N" "$OUT" || fail "help lacks --max-len"
    grep -q "usage: mpct tokenize" "$OUT" || fail "help lacks usage line"
    ;;
json_vocab)
    # a tokenizer.json given as --vocab: ids of every golden input line as
    # `tokenizers` gives them (golden.txt rows 1..243, no truncation), except
    # line 112, whose final "\r" the inputs-file rules remove
    for n in wordpiece_cased bpe_roberta bpe_llama3 unigram; do
        "$MPCT" tokenize --vocab "$DATA/tok/$n/tokenizer.json" --max-len 4096 \
            --input "$DATA/tok_golden_input.txt" >"$OUT" 2>"$ERR"
        expect_rc $? 0
        head -243 "$DATA/tok/$n/golden.txt" | cut -f3 | sed 112d >"$WORK/tok_cmd_want_$n.txt"
        sed 112d "$OUT" | cmp -s - "$WORK/tok_cmd_want_$n.txt" || fail "$n: ids differ from golden.txt"
    done
    ;;
pack_json)
    # a checkpoint with tokenizer.json: pack stores it, the hash covers it, and
    # tokenize and the plaintext run give what the vocab.txt model gives
    CK=$WORK/tok_ckpt_json
    rm -rf "$CK" && cp -r "$DATA/hf/bert-seqcls" "$CK" && cp "$DATA/tok/bert_seqcls/tokenizer.json" "$CK/" || fail "copy"
    "$MPCT" pack "$CK" -o "$WORK/tok_json.h5" --bits 32 >"$OUT" 2>"$ERR"
    expect_rc $? 0
    grep -q "^tokenizer: .*tokenizer.json (WordPiece, 3000 ids, 2 special tokens" "$OUT" || fail "pack report lacks the tokenizer"
    h5ls "$WORK/tok_json.h5/tokenizer" | grep -q "^tokenizer_json" || fail "no /tokenizer/tokenizer_json"
    "$MPCT" pack "$DATA/hf/bert-seqcls" -o "$WORK/tok_vocab.h5" --bits 32 >"$WORK/tok_vocab.pack" 2>"$ERR"
    expect_rc $? 0
    [ "$(grep content_sha256 "$OUT")" != "$(grep content_sha256 "$WORK/tok_vocab.pack")" ] || fail "same content hash"
    "$MPCT" tokenize --model "$WORK/tok_json.h5" --input "$DATA/hf/texts.txt" >"$OUT" 2>"$ERR"
    expect_rc $? 0
    "$MPCT" tokenize --model "$WORK/tok_vocab.h5" --input "$DATA/hf/texts.txt" >"$WORK/tok_vocab.ids" 2>"$ERR"
    cmp -s "$OUT" "$WORK/tok_vocab.ids" || fail "tokenizer.json and vocab.txt models tokenize differently"
    for m in json vocab; do
        "$MPCT" run --plaintext --model "$WORK/tok_$m.h5" --inputs "$DATA/hf/texts.txt" --task classify \
            --seq-len 64 --quiet --output "$WORK/tok_run_$m.h5" --overwrite >/dev/null 2>"$ERR"
        expect_rc $? 0
        h5dump -d /logits -d /input_ids "$WORK/tok_run_$m.h5" | grep -v HDF5 >"$WORK/tok_run_$m.txt"
    done
    cmp -s "$WORK/tok_run_json.txt" "$WORK/tok_run_vocab.txt" || fail "plaintext runs differ"
    ;;
pack_json_bad)
    CK=$WORK/tok_ckpt_bad
    rm -rf "$CK" && cp -r "$DATA/hf/bert-seqcls" "$CK" || fail "copy"
    sed 's/"type": *"BertNormalizer"/"type": "Nmt"/' "$DATA/tok/bert_seqcls/tokenizer.json" >"$CK/tokenizer.json"
    "$MPCT" pack "$CK" -o "$WORK/tok_bad.h5" >"$OUT" 2>"$ERR"
    expect_rc $? 1
    expect_err 'tokenizer.json: normalizer.type = "Nmt" is not supported by mpct'
    [ "$(grep -c error "$ERR")" -eq 1 ] || fail "the error is not printed once"
    [ ! -e "$WORK/tok_bad.h5" ] || fail "a model file was written"
    ;;
*)
    echo "unknown case $CASE" >&2
    exit 2
    ;;
esac
exit 0
