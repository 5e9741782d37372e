#!/bin/sh
# generate_test.sh MPCT SRC WORK CASE MPIRUN... — `mpct generate` end to end on
# the tiny Hugging Face decoders of tests/data/hf (packed here).
#   golden_gpt2, golden_llama  secure ids (JSONL) = --plaintext ids = the
#              goldens' 8 greedy ids (transformers' generate), every field;
#              --logits: one record per step in both modes, secure vs float64
#              next-token logits cosine >= 0.999 at every step (logits_cosine.py)
#   h5         the HDF5 output: attributes (frac_bits: generate's default 20), prompts, ids,
#              text, done flags
#   resume     SIGTERM mid-run keeps OUTPUT.partial and says so (exit != 0); --resume
#              completes it equal to an uninterrupted run; without --resume
#              the .partial stops the run; a resume with other settings is refused
#   sample     --temperature / --top-k: settings in every line, ids in the vocabulary,
#              the same output again under the same --test-seed, another under another seed;
#              a resume with other sampling settings refused naming temperature; --top-k
#              without a temperature and a negative temperature are bad usage (exit 2)
#   replicas   -np 6 (two replicas taking prompts from the work dispenser) writes the
#              same output as -np 3 under test keys, sampled too, rows in prompt order; a
#              -np 3 output cut to 2 prompts resumes with -np 6 to the same output
#   bad        one clear error and exit 1: an empty prompts file, an empty
#              prompt, a too-long prompt, a NUL byte, an encoder, --logits with 6 ranks
set -u
mpct=$1 src=$2 work=$3 case=$4
shift 4
dir="$work/generate_$case"
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" || exit 1
fail() { echo "FAIL: $*" >&2; exit 1; }
pack() { "$mpct" pack "$src/tests/data/hf/$1" -o "$1.h5" >/dev/null 2>&1 || fail "pack $1"; }
printf 'The quick brown fox\nSecure computation of a decoder, one token at a time.\nhello hello hello\n' > p.txt
golden_ids() { grep '^greedy' "$src/tests/data/hf/$1/golden.txt" | cut -d' ' -f3- | tr ' ' ','; }
json_ids() { sed 's/.*"generated_ids":\[\([0-9,]*\)\].*/\1/' "$1"; }
case $case in
golden_gpt2 | golden_llama)
    m=$([ $case = golden_gpt2 ] && echo gpt2-tied || echo llama-gqa)
    pack $m
    "$@" "$mpct" generate --model $m.h5 --inputs p.txt -o s.jsonl --max-new-tokens 8 --stop none --test-seed 7 -q \
        --logits s.bin || fail "secure run"
    "$mpct" generate --plaintext --model $m.h5 --inputs p.txt -o p.jsonl --max-new-tokens 8 --stop none -q \
        --logits p.bin || fail "plaintext run"
    v=$(grep -h '"vocab_size"' "$src/tests/data/hf/$m/config.json" | tr -dc 0-9)
    for b in s.bin p.bin; do
        [ $(wc -c < $b) -eq $((3 * 8 * (12 + 4 * v))) ] || fail "$b: not 3 x 8 records of $v logits"
    done
    if command -v python3 >/dev/null; then
        python3 "$src/tests/generate/logits_cosine.py" s.jsonl s.bin p.jsonl p.bin 0.999 || fail "logits cosine"
    fi
    golden_ids $m > g.txt
    json_ids s.jsonl > s.txt
    json_ids p.jsonl > pl.txt
    cat g.txt s.txt
    cmp -s g.txt s.txt || fail "secure ids differ from the golden greedy ids"
    cmp -s g.txt pl.txt || fail "plaintext ids differ from the golden greedy ids"
    [ $(wc -l < s.jsonl) -eq 3 ] || fail "not 3 lines"
    head -1 s.jsonl | grep -q '^{"index":0,"mode":"secure","model_hash":"[0-9a-f]\{64\}","insecure_test_keys":true,"max_new_tokens":8,"stop":\[\],"prompt":"The quick brown fox","prompt_tokens":[0-9]*,"generated_ids":\[[0-9,]*\],"text":".*","stopped_by":"length"}$' ||
        fail "line 1 fields"
    pt=$(grep -c '' /dev/null; grep '^prompt' "$src/tests/data/hf/$m/golden.txt" | head -1 | cut -d' ' -f2)
    head -1 s.jsonl | grep -q "\"prompt_tokens\":$pt," || fail "prompt_tokens is not the golden's $pt"
    grep -q '"mode":"plaintext"' p.jsonl || fail "plaintext mode not recorded"
    # a stop id among the generated ones ends the generation there, kept
    first=$(head -1 g.txt | cut -d, -f2)
    "$mpct" generate --plaintext --model $m.h5 --inputs p.txt -o st.jsonl --max-new-tokens 8 --stop $first -q ||
        fail "run with --stop"
    head -1 st.jsonl | grep -q "\"generated_ids\":\[$(head -1 g.txt | cut -d, -f1-2)\],.*\"stopped_by\":$first}" ||
        fail "--stop $first did not end the generation after that token" ;;
h5)
    pack gpt2-tied
    "$@" "$mpct" generate --model gpt2-tied.h5 --inputs p.txt -o s.h5 --max-new-tokens 8 --stop none --test-seed 7 -q ||
        fail "secure run"
    command -v h5dump >/dev/null || { echo "h5dump not installed: skipped"; exit 77; }
    h5dump -A s.h5 > a.txt
    for a in '"MPCT-GENERATE"' '"secure"'; do grep -q "$a" a.txt || fail "attribute value $a missing"; done
    grep -A5 'ATTRIBUTE "insecure_test_keys"' a.txt | grep -q '(0): 1' || fail "insecure_test_keys not 1"
    grep -A5 'ATTRIBUTE "complete"' a.txt | grep -q '(0): 1' || fail "complete not 1"
    grep -A5 'ATTRIBUTE "frac_bits"' a.txt | grep -q '(0): 20' || fail "frac_bits not generate's default 20"
    grep -q 'CSET H5T_CSET_UTF8' a.txt || fail "strings are not UTF-8"
    h5dump -d /prompt s.h5 | grep -q '"Secure computation of a decoder, one token at a time."' || fail "/prompt"
    h5dump -y -w 0 -d /generated_ids s.h5 | grep -A4 'DATA {' | tr -d ' \n' | grep -q "$(golden_ids gpt2-tied | tr '\n' ',' | sed 's/,$//')" ||
        fail "/generated_ids differ from the golden ids"
    h5dump -y -w 0 -d /done s.h5 | grep -q '1, 1, 1' || fail "/done"
    h5dump -d /text s.h5 | grep -q 'DATASPACE  SIMPLE { ( 3 ) / ( 3 ) }' || fail "/text" ;;
resume)
    pack llama-gqa
    # enough prompts that the run outlasts mpirun's delay in passing SIGTERM on (below)
    N=240
    for i in $(seq 1 $((N / 3))); do cat p.txt; done > prompts.txt
    "$@" "$mpct" generate --model llama-gqa.h5 --inputs prompts.txt -o full.jsonl --max-new-tokens 8 --test-seed 7 -q ||
        fail "uninterrupted run"
    # Open MPI's mpirun passes SIGTERM on to the ranks only after odls_base_sigkill_timeout seconds, and
    # sends SIGKILL about as long after: give the ranks time to stop cleanly and say what they kept
    OMPI_MCA_odls_base_sigkill_timeout=3 "$@" "$mpct" generate --model llama-gqa.h5 --inputs prompts.txt -o r.jsonl \
        --max-new-tokens 8 --test-seed 7 > log.txt 2>&1 &
    pid=$!
    n=0
    while [ ! -s r.jsonl.partial ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
    kill -TERM $pid
    wait $pid
    rc=$?
    cat log.txt
    [ $rc -ne 0 ] || fail "exit 0 after SIGTERM"
    grep -q "^mpct generate: error: interrupted by SIGTERM: [0-9]* of $N rows are kept in r.jsonl.partial" log.txt ||
        fail "no message naming the prompts kept"
    [ -s r.jsonl.partial ] && [ ! -e r.jsonl ] || fail "no r.jsonl.partial kept"
    grep -q -- "--resume" log.txt || fail "no command to resume"
    kept=$(wc -l < r.jsonl.partial)
    [ $kept -lt $N ] || fail "all $N prompts done before the signal: nothing to resume"
    "$@" "$mpct" generate --model llama-gqa.h5 --inputs prompts.txt -o r.jsonl --max-new-tokens 8 --test-seed 7 -q \
        > again.txt 2>&1 && fail "ran over a .partial without --resume"
    grep -q "holds $kept prompts of an earlier run: add --resume" again.txt || fail "no choices: $(cat again.txt)"
    "$mpct" generate --plaintext --model llama-gqa.h5 --inputs prompts.txt -o r.jsonl --max-new-tokens 8 --resume -q \
        > mix.txt 2>&1 && fail "a plaintext resume of a secure run went on"
    grep -q "its mode differs" mix.txt || fail "mixing modes: $(cat mix.txt)"
    "$@" "$mpct" generate --model llama-gqa.h5 --inputs prompts.txt -o r.jsonl --max-new-tokens 8 --test-seed 7 \
        --resume -q || fail "resume"
    cmp full.jsonl r.jsonl || fail "resumed output differs from the uninterrupted one" ;;
sample)
    pack llama-gqa
    s="generate --model llama-gqa.h5 --inputs p.txt --max-new-tokens 8 --stop none -q --temperature 0.9 --top-k 20"
    "$@" "$mpct" $s -o a.jsonl --test-seed 7 || fail "sampled run"
    "$@" "$mpct" $s -o b.jsonl --test-seed 7 || fail "sampled run again"
    "$@" "$mpct" $s -o c.jsonl --test-seed 8 || fail "sampled run, another seed"
    cat a.jsonl
    [ $(grep -c '"max_new_tokens":8,"stop":\[\],"temperature":0.90000000000000002,"top_k":20,"prompt":' a.jsonl) -eq 3 ] ||
        fail "the sampling settings are not in every line"
    json_ids a.jsonl | tr ',' '\n' | awk '$1 < 0 || $1 >= 300 { bad = 1 } END { exit bad }' || fail "an id outside the vocabulary"
    [ $(json_ids a.jsonl | tr ',' '\n' | wc -l) -eq 24 ] || fail "not 8 ids per prompt"
    cmp -s a.jsonl b.jsonl || fail "the same test seed drew other tokens"
    json_ids a.jsonl > ia.txt
    json_ids c.jsonl > ic.txt
    cmp -s ia.txt ic.txt && fail "another test seed drew the same 24 tokens"
    "$mpct" $s -o pa.jsonl --plaintext --test-seed 7 && "$mpct" $s -o pb.jsonl --plaintext --test-seed 7 ||
        fail "sampled plaintext runs"
    cmp -s pa.jsonl pb.jsonl || fail "plaintext sampling does not repeat under --test-seed"
    cp a.jsonl r.jsonl.partial
    "$@" "$mpct" generate --model llama-gqa.h5 --inputs p.txt --max-new-tokens 8 --stop none -q --test-seed 7 \
        -o r.jsonl --resume > mix.txt 2>&1 && fail "a greedy resume of a sampled run went on"
    grep -q "its temperature differs" mix.txt || fail "greedy over sampled: $(cat mix.txt)"
    "$@" "$mpct" $s -o r.jsonl --resume --test-seed 7 --temperature 0.5 > mix.txt 2>&1 &&
        fail "a resume with another temperature went on"
    grep -q "its temperature differs" mix.txt || fail "other temperature: $(cat mix.txt)"
    "$mpct" generate --plaintext --model llama-gqa.h5 --inputs p.txt -o u.jsonl --top-k 5 > u.txt 2>&1
    [ $? -eq 2 ] && grep -q "top_k = 5 needs a temperature > 0" u.txt || fail "--top-k without temperature: $(cat u.txt)"
    "$mpct" generate --plaintext --model llama-gqa.h5 --inputs p.txt -o u.jsonl --temperature -1 > u.txt 2>&1
    [ $? -eq 2 ] && grep -q "expected a temperature in \[0, 100\]" u.txt || fail "--temperature -1: $(cat u.txt)" ;;
replicas)
    pack llama-gqa
    for i in 1 2; do cat p.txt; done > p6.txt
    echo "one more" >> p6.txt
    mp=$1
    shift 3 # mpirun -np 3
    g="$mpct generate --model llama-gqa.h5 --inputs p6.txt --max-new-tokens 8 --stop none --test-seed 7 -q"
    "$mp" -np 3 "$@" $g -o r3.jsonl || fail "-np 3"
    "$mp" -np 6 "$@" $g -o r6.jsonl || fail "-np 6"
    cmp r3.jsonl r6.jsonl || fail "-np 6 wrote another output than -np 3"
    [ "$(sed 's/^{"index":\([0-9]*\),.*/\1/' r6.jsonl | tr '\n' ' ')" = "0 1 2 3 4 5 6 " ] || fail "rows out of prompt order"
    "$mp" -np 3 "$@" $g -o s3.jsonl --temperature 0.8 --top-k 10 || fail "-np 3 sampled"
    "$mp" -np 6 "$@" $g -o s6.jsonl --temperature 0.8 --top-k 10 || fail "-np 6 sampled"
    cmp s3.jsonl s6.jsonl || fail "-np 6 sampled other tokens than -np 3"
    head -2 r3.jsonl > c.jsonl.partial
    "$mp" -np 6 "$@" $g -o c.jsonl --resume || fail "-np 6 resume"
    cmp r3.jsonl c.jsonl || fail "a -np 6 resume differs from the uninterrupted run" ;;
bad)
    pack gpt2-tied
    pack bert-seqcls
    expect() { # expect PATTERN CMD...: exit 1 and the pattern in one error line
        pat=$1
        shift
        "$@" > out.txt 2>&1
        rc=$?
        cat out.txt
        [ $rc -eq 1 ] || fail "exit $rc, expected 1: $*"
        grep -q "$pat" out.txt || fail "no '$pat'"
        [ $(grep -c "error:" out.txt) -eq 1 ] || fail "error printed $(grep -c 'error:' out.txt) times"
    }
    : > empty.txt
    printf 'fine\n\nfine\n' > blank.txt
    printf 'ok\nnul\000here\n' > nul.txt
    awk 'BEGIN { for (i = 0; i < 70; i++) printf "hello "; print "" }' > long.txt
    g="$mpct generate --model gpt2-tied.h5 -o o.jsonl --test-seed 7 -q --inputs"
    expect "the prompts file '.*empty.txt' is empty" "$@" $g empty.txt
    expect "blank.txt:2: an empty prompt" "$@" $g blank.txt
    expect "nul.txt:2: .*NUL" "$@" $g nul.txt
    expect "long.txt:1: the prompt has more than 57 tokens: the model's 64 positions less --max-new-tokens 8" \
        "$@" $g long.txt --max-new-tokens 8
    expect "is an encoder (bert): generate needs a decoder" \
        "$@" "$mpct" generate --model bert-seqcls.h5 --inputs p.txt -o o.jsonl --test-seed 7 -q
    expect "blank.txt:2: an empty prompt" $g blank.txt --plaintext
    # run's input and output keys that generate does not use are refused (exit 2), not ignored
    for kv in "inputs dedup 1" "output result_cache rc" "inputs hide_lengths 1" "inputs text_field body"; do
        set -- $kv "$@"
        printf '[%s]\n%s = %s\n' "$1" "$2" "$3" > k.ini
        "$mpct" generate k.ini --plaintext --model gpt2-tied.h5 --inputs p.txt -o k.jsonl -q > out.txt 2>&1
        rc=$?
        cat out.txt
        [ $rc -eq 2 ] && grep -q "key $2 is not used by generate" out.txt || fail "job key $2: exit $rc"
        [ ! -e k.jsonl ] || fail "job key $2: an output was written"
        shift 3
    done
    mp=$1
    shift 3 # mpirun -np 3
    expect "error: --logits l.bin needs one replica: 6 ranks make 2; use -np 3" \
        "$mp" -np 6 "$@" "$mpct" generate --model gpt2-tied.h5 --inputs p.txt -o o.jsonl --test-seed 7 -q --logits l.bin ;;
*) fail "unknown case $case" ;;
esac
echo "generate $case: ok"
