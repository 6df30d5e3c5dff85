#!/usr/bin/env bash
# spm.sh - raw text in, raw text out, with SentencePiece inside s2s, end to end through the
# binary on generated text (no network, no SentencePiece tools):
#   1. `s2s prep --tokenizer sentencepiece` trains a joint model on the training split only
#      (the carved-out test lines excluded), the same bytes twice, stores it in the dataset and
#      beside it; `s2s info` shows it; separate models and a given model work too;
#   2. `s2s train` on 2 ranks (a tiny model, ~100 steps) copies the model into its checkpoints,
#      scores validation BLEU on the text with a signature and prints its samples as text;
#   3. `s2s translate` takes the raw source text and writes text: no U+2581 marker, the lines
#      made of words of the training text (pieces joined by spaces are not), the same streamed
#      through a pipe and on 2 ranks; input the model cannot read gets one warning line;
#   4. `s2s eval` scores that output against the raw references with the signature (the
#      version of `s2s --version`), and `eval --checkpoint --data` gives the same 13a BLEU
#      from the dataset; a dataset of another SentencePiece model is refused.
#
#   spm.sh S2S_BINARY MPIEXEC
set -u
if [ $# -ne 2 ]; then
    echo "usage: spm.sh S2S_BINARY MPIEXEC" >&2
    exit 2
fi
s2s=$1 mpiexec=$2
if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OPENBLAS_NUM_THREADS=1
# As for every MPI program of the suite: Open MPI's own allocations left at exit would be
# reported as leaks under AddressSanitizer (the modules' leaks are checked in their unit tests).
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
work=$(mktemp -d "${TMPDIR:-/tmp}/s2s_spm.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
# json FILE KEY: the number KEY of the last line of FILE (a JSON object)
json() { tail -n 1 "$1" | sed -n "s/.*\"$2\":\([-0-9.eE+]*\).*/\1/p"; }
# jstr FILE KEY: the string KEY of the last line of FILE
jstr() { tail -n 1 "$1" | sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p"; }
marker=$(printf '\xe2\x96\x81')

# ---- 1. prep trains the model ----------------------------------------------------------------
# Digits to English number words ("4 2" -> "forty two"): target words that a model of 60 pieces
# cuts into pieces ("▁seven" "teen"), which only the model's own decoding glues back.
"$s2s" gen numbers --reverse --train 6000 --valid 200 --test 200 --seed 3 --out n >/dev/null 2>&1 ||
    { echo "FAIL: s2s gen"; exit 1; }
# The test lines of the training file are carved out: 5800 pairs, 11600 sentences, train it.
prep() {
    "$s2s" prep --train-src n.train.src --train-tgt n.train.tgt --valid-src n.valid.src \
        --valid-tgt n.valid.tgt --test-size 200 --tokenizer sentencepiece --spm-vocab-size 60 "$@"
}
prep --out d.h5 > prep.log 2>&1 || { cat prep.log; echo "FAIL: prep"; exit 1; }
cat prep.log
grep -q "^sentencepiece: joint unigram model, [0-9]* pieces, trained on 11600 sentences" prep.log &&
    ok "one joint model trained on the 5800 training pairs' two sides (not the carved-out test lines)" ||
    fail "the model's training sentences: $(grep sentencepiece prep.log)"
[ -s d.spm.model ] && ok "the model beside the dataset: d.spm.model" || fail "no d.spm.model"
prep --out again.h5 > /dev/null 2>&1 && cmp -s d.spm.model again.spm.model &&
    ok "the same input and options train the same model bytes" ||
    fail "a second prep trained other model bytes"
"$s2s" info --json d.h5 > info.json 2>&1 || fail "s2s info d.h5: $(cat info.json)"
grep -q '"spm":{"joint":true,"src":{"bytes":[0-9]*,"type":"unigram","pieces":[0-9]*,"error":null},"tgt":null}' info.json &&
    ok "s2s info --json shows the joint model" || fail "info --json: $(grep -o '"spm":[^}]*}' info.json)"
"$s2s" info d.h5 | grep -q "^sentencepiece  *joint unigram model, [0-9]* pieces" &&
    ok "s2s info shows it" || fail "s2s info text: $("$s2s" info d.h5 | grep -i sentencepiece)"
size=$(stat -c %s d.spm.model)
grep -q "\"bytes\":$size," info.json && ok "the dataset holds the file's $size bytes" ||
    fail "the dataset's model is not the file's $size bytes"
# one model per side, and a model given as a file
prep --spm-train separate --spm-type bpe --out sep.h5 > sep.log 2>&1 &&
    grep -q "^sentencepiece: src bpe model" sep.log && grep -q "^sentencepiece: tgt bpe model" sep.log &&
    [ -s sep.src.spm.model ] && [ -s sep.tgt.spm.model ] &&
    "$s2s" info sep.h5 | grep -q "^sentencepiece tgt  *bpe model" &&
    ok "--spm-train separate: a model per side, in the dataset and beside it" ||
    { cat sep.log; fail "--spm-train separate"; }
prep --spm-model d.spm.model --src-vocab d.src.vocab --tgt-vocab d.tgt.vocab --out given.h5 \
    > given.log 2>&1 && grep -q "^sentencepiece: joint unigram model, .* from d.spm.model" given.log &&
    ok "--spm-model: a given model, reused" || { cat given.log; fail "--spm-model"; }
"$s2s" prep --train-src n.train.src --train-tgt n.train.tgt --spm-model d.spm.model --out x.h5 \
    > x.log 2>&1 && fail "--spm-model without --tokenizer sentencepiece accepted" ||
    { grep -q "need --tokenizer sentencepiece" x.log && ok "--spm-model needs --tokenizer sentencepiece" ||
          fail "--spm-model without the tokenizer: $(cat x.log)"; }

# ---- 2. training -----------------------------------------------------------------------------
if ! "$mpiexec" -np 2 "$s2s" train --data d.h5 --run-dir run --attn bahdanau --hidden 64 --emb 32 \
       --batch 64 --steps 200 --optim adam --lr 0.01 --warmup 0 --dropout 0 --label-smoothing 0 \
       --valid-every 50 --samples 3 \
       --progress plain --log-every 0 > train.log 2>&1; then
    cat train.log
    echo "FAIL: training"
    exit 1
fi
cat train.log
version=$("$s2s" --version | sed -n '1s/^s2s //p')
signature="nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:s2s-$version"
grep -qF "  BLEU signature $signature" train.log &&
    grep '"type":"valid"' run/metrics.jsonl | tail -n 1 | grep -qF "\"bleu_signature\":\"$signature\"" &&
    ok "validation BLEU with its signature ($signature), in the log and metrics.jsonl" ||
    fail "no validation BLEU signature '$signature'"
# The samples: text, not pieces; each source and reference is a line of the raw validation text.
grep -E '^  (src|ref|out): ' train.log > samples.txt
# lines_of PREFIX FILE: whether every sample line "  PREFIX: TEXT" has its TEXT as a line of FILE
lines_of() { sed -n "s/^  $1: //p" samples.txt | grep -vxFf "$2" | grep -q . && return 1; return 0; }
[ "$(grep -c '^  ref: ' samples.txt)" -eq 3 ] && ! grep -q "$marker" samples.txt &&
    lines_of src n.valid.src && lines_of ref n.valid.tgt &&
    ok "validation samples are text: sources and references are lines of n.valid.*" ||
    fail "validation samples: $(cat samples.txt)"
ckpt=run/best.h5
"$s2s" info --json "$ckpt" > ckinfo.json 2>&1 && grep -q "\"spm\":{\"joint\":true,\"src\":{\"bytes\":$size," ckinfo.json &&
    ok "the checkpoint carries the dataset's model" || fail "checkpoint /spm: $(grep -o '"spm":[^}]*}' ckinfo.json)"

# ---- 3. translate: raw text in, text out -----------------------------------------------------
# The words of the training targets: the output's words must be such words (pieces left apart,
# or glued wrongly, make words that are not). Not all of them: this briefly trained model
# misspells some by choosing a wrong piece (97% were words when this was written; pieces joined
# by spaces give 0%).
tr ' ' '\n' < n.train.tgt | sort -u > words.txt
# out_words FILE: the share of FILE's words that are words of the training targets, in percent
out_words() { tr ' ' '\n' < "$1" | grep -v '^$' | awk 'NR == FNR { w[$0] = 1; next }
    { n++; k += ($0 in w) } END { printf "%d\n", n ? 100 * k / n : 0 }' words.txt -; }
if "$s2s" translate --checkpoint "$ckpt" --input n.test.src --output out.txt 2> tr.err; then
    [ "$(wc -l < out.txt)" -eq 200 ] && ok "one translation per line" || fail "line count $(wc -l < out.txt)"
    ! grep -q "$marker" out.txt && ok "no U+2581 marker in the output" || fail "markers in the output"
    share=$(out_words out.txt)
    [ "$share" -ge 90 ] && ok "$share% of the output words are words of the training text: $(head -n 1 out.txt)" ||
        fail "only $share% of the output words are words: $(head -n 3 out.txt)"
    ! grep -q "input tokens" tr.err && ok "no warning for raw text" || fail "warning: $(cat tr.err)"
    # the check can fail: the same translations detokenized without the model
    "$s2s" translate --checkpoint "$ckpt" --input n.test.src --detok pieces --output pieces.txt 2>/dev/null
    "$s2s" translate --checkpoint "$ckpt" --input n.test.src --detok space --output space.txt 2>/dev/null
    [ "$(out_words space.txt)" -lt 50 ] &&
        ok "(pieces joined by spaces give $(out_words space.txt)% words: the check tells them apart)" ||
        fail "the words check does not tell pieces from text"
    cmp -s pieces.txt out.txt && echo "note: --detok pieces gives the same text here" ||
        echo "note: --detok pieces differs from the model's decoding"
else
    cat tr.err
    fail "translate"
fi
# streamed through a pipe, and on 2 ranks: the same
cat n.test.src | "$s2s" translate --checkpoint "$ckpt" --stream on > stream.txt 2>/dev/null &&
    cmp -s stream.txt out.txt && ok "streamed through a pipe: the same output" ||
    fail "streaming translate differs"
"$mpiexec" -np 2 "$s2s" translate --checkpoint "$ckpt" --input n.test.src --output out2.txt \
    --batch 16 2>/dev/null && cmp -s out2.txt out.txt && ok "2 ranks: the same output" ||
    fail "2 ranks differ"
# a model file made by s2s average keeps the SentencePiece model: it translates raw text alike
"$s2s" average "$ckpt" --out avg.h5 > /dev/null 2>&1 &&
    "$s2s" translate --checkpoint avg.h5 --input n.test.src --output avg.txt 2>/dev/null &&
    cmp -s avg.txt out.txt && ok "s2s average's model file: the same raw-text output" ||
    fail "s2s average's model file does not translate raw text as its checkpoint"
# input the source vocabulary cannot read (letters for a model of digits): one warning line
printf 'hello there\nsee you tomorrow\nwhat is this\n' > letters.txt
"$s2s" translate --checkpoint "$ckpt" --input letters.txt --output /dev/null 2> warn.err
[ "$(grep -c 'input tokens are <unk>' warn.err)" -eq 1 ] &&
    grep -q '^translate: 100% of input tokens are <unk> ([0-9]* of [0-9]*): is the input tokenized as the training data was?$' warn.err &&
    ok "one warning for unreadable input: $(grep '<unk>' warn.err)" || fail "warning: $(cat warn.err)"

# ---- 4. eval on the raw references -----------------------------------------------------------
if "$s2s" eval --hyp out.txt --ref n.test.tgt > evf.txt 2>&1; then
    cat evf.txt
    grep -qF "  signature            $signature" evf.txt && [ "$(jstr evf.txt signature)" = "$signature" ] &&
        ok "eval --hyp --ref prints the signature and its JSON carries it" ||
        fail "eval signature: $(cat evf.txt)"
    bleu=$(json evf.txt bleu)
    awk -v b="$bleu" 'BEGIN { exit !(b > 10) }' && ok "BLEU $bleu against the raw references" ||
        fail "BLEU $bleu: the model should have learned something"
else
    cat evf.txt
    fail "eval --hyp"
fi
# The validation split through the model: its references are the dataset's ids decoded by the
# model, its translations translate's; scored as text, the same 13a BLEU as translate's output
# against the raw reference lines.
if "$s2s" eval --checkpoint "$ckpt" --data given.h5 --split valid --output ev_valid.txt > evd.txt 2>&1; then
    cat evd.txt
    "$s2s" translate --checkpoint "$ckpt" --input n.valid.src --output tr_valid.txt 2>/dev/null
    cmp -s ev_valid.txt tr_valid.txt && ok "eval --output is translate's text" ||
        fail "eval --output differs from translate"
    "$s2s" eval --hyp tr_valid.txt --ref n.valid.tgt > evv.txt 2>&1
    [ "$(json evd.txt bleu)" = "$(json evv.txt bleu)" ] && [ "$(jstr evd.txt signature)" = "$signature" ] &&
        ok "eval --data: 13a BLEU $(json evd.txt bleu) on text = translate's against the raw references" ||
        fail "eval --data BLEU $(json evd.txt bleu), --hyp/--ref $(json evv.txt bleu)"
    grep -q '^BLEU (tokens) ' evd.txt && grep -q 'tok:none' evd.txt &&
        ok "token BLEU stays, named, with its own signature" || fail "token BLEU line"
else
    cat evd.txt
    fail "eval --checkpoint --data"
fi
# the same vocabularies with another model: refused
"$s2s" prep --train-src n.train.src --train-tgt n.train.tgt --valid-src n.valid.src \
    --valid-tgt n.valid.tgt --tokenizer sentencepiece --spm-model sep.src.spm.model \
    --src-vocab d.src.vocab --tgt-vocab d.tgt.vocab --out other.h5 >/dev/null 2>&1 &&
"$s2s" eval --checkpoint "$ckpt" --data other.h5 --split valid > evo.txt 2>&1 &&
    fail "a dataset of another SentencePiece model accepted" ||
    { grep -q "SentencePiece model mismatch" evo.txt && ok "a dataset of another model: refused" ||
          fail "another model: $(cat evo.txt)"; }

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
