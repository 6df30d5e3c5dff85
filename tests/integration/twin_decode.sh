#!/usr/bin/env bash
# twin_decode.sh - the PyTorch twin (scripts/torch_twin.py) loads what `s2s train` writes and
# translates as `s2s translate` does:
#   1. a synthetic task (reversing 3-8 of 12 symbols, 2 of them outside a 14-token vocabulary,
#      so that <unk> is a word the models learn to write) prepared twice: words, and characters
#      with --lowercase;
#   2. configurations covering every cell, attention kind (none included), input feeding on,
#      off and auto, one to three layers, uni- and bidirectional encoders, a decoder deeper or
#      shallower than the encoder, tied embeddings and dropout, trained for 40 to 200 steps,
#      a model whose parameters are all zero (every token equally likely: every choice is an
#      exact tie, decided by the rules alone), and an untrained one (U(-0.5, 0.5)), whose beam
#      search loses the greedy hypothesis on some sentences, where the greedy lane wins;
#   3. `s2s translate` of a few dozen sentences (held-out test sources, plus lines with tabs,
#      CRLF, unknown and reserved words, capitals, spaces only, nothing) greedy and with beam 4,
#      4-best, with --replace-unk, and with length penalties 2 and 0 and another length limit;
#      the twin must give the same lines (`torch_twin.py
#      check-translate`: tokens identical, scores within float32 error, a difference tolerated
#      only where the twin's own search met a near-tie, none for the well-trained model);
#   4. the comparison must fail when the twin changes one rule (length penalty, length limit,
#      tie order, the length of a finished hypothesis, no greedy lane, an early stop);
#   5. export to a plain state_dict and back (torch.load + the twin's constructor), the
#      exported model translating as the checkpoint; the `translate` command's output; the
#      twin's list of model options equal to `s2s info`'s; a /config option or a tokenizer the
#      twin does not know refused in one line naming it.
# Skipped (exit 77) without a Python that imports torch, h5py and numpy. With --all (by hand,
# about a minute): every valid combination of cell, direction, attention, input feeding and tied
# embeddings besides, trained for 20 steps, one or two layers each.
#
#   twin_decode.sh S2S_BINARY TWIN_SCRIPT [--all]
set -u
if [ $# -lt 2 ] || [ $# -gt 3 ] || { [ $# -eq 3 ] && [ "$3" != --all ]; }; then
    echo "usage: twin_decode.sh S2S_BINARY TWIN_SCRIPT [--all]" >&2
    exit 2
fi
s2s=$1 twin=$2 all=${3:-}
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if ! python=$(python_importing "torch, h5py, numpy"); then
    echo "twin_decode: SKIPPED: no python3 imports torch, h5py and numpy" \
         "(install python3-torch python3-h5py python3-numpy: scripts/deps.sh --python)"
    exit 77
fi
test_begin twin
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" # Open MPI's own leaks (see decode.sh)

# ---- 1. data ----------------------------------------------------------------------------------
"$s2s" gen reverse --symbols 12 --min-len 3 --max-len 8 --train 4000 --valid 40 --test 40 \
    --seed 5 --out r >/dev/null 2>&1 || { echo "FAIL: s2s gen"; exit 1; }
prep() {
    local out=$1
    shift
    "$s2s" prep --train-src r.train.src --train-tgt r.train.tgt --valid-src r.valid.src \
        --valid-tgt r.valid.tgt --out "$out" "$@" >/dev/null || { echo "FAIL: s2s prep $out"; exit 1; }
}
prep w.h5 --max-vocab 14
prep c.h5 --tokenizer chars --lowercase
# The test sources and lines at the edges of tokenization: tabs and several spaces, a CRLF line
# end, words outside the vocabulary and reserved tokens, capitals (unknown words, lowercased for
# the character data), spaces only, an empty line, a long line (a later length limit).
{
    cat r.test.src
    printf 'a\tb  c\r\nzz b <s> c </s>\nA B C d\n   \n\nk j i h g f e d c b a l k j i h\n'
} > input.txt

# ---- 2. models ----------------------------------------------------------------------------------
# name data steps options...
configs=(
    "gru_bahdanau w.h5 200 --attn bahdanau"
    "lstm_dot w.h5 60 --cell lstm --no-bidir --attn dot"
    "rnn_none_2 w.h5 60 --cell rnn --layers 2 --dropout 0.1"
    "gru_general_2_1 w.h5 60 --layers 2 --dec-layers 1 --attn general --input-feed off"
    "lstm_general_tied w.h5 40 --cell lstm --attn general --input-feed on --dec-layers 2 --emb 32 --tie-embeddings"
    "rnn_bahdanau_3_2 c.h5 60 --cell rnn --no-bidir --layers 3 --dec-layers 2 --attn bahdanau"
    "gru_dot_tied c.h5 40 --no-bidir --attn dot --input-feed off --emb 32 --tie-embeddings"
    "zero w.h5 0 --attn bahdanau --init-scale 0"
    "untrained w.h5 0 --attn bahdanau --init-scale 0.5"
)
if [ -n "$all" ]; then # every valid combination (include/s2s/model_options.h's checks)
    n=0
    for cell in rnn gru lstm; do
        for dir in --bidir --no-bidir; do
            for attn in none bahdanau dot general; do
                [ "$attn" = dot ] && [ "$dir" = --bidir ] && continue # dot needs D*H = H
                for feed in auto on off; do
                    case $attn:$feed in none:on | bahdanau:on) continue ;; esac
                    for tie in false true; do
                        # tied: the output layer reads E = H values (never with Bahdanau)
                        [ "$tie" = true ] && [ "$attn" = bahdanau ] && continue
                        n=$((n + 1))
                        layers="--layers $((1 + n % 2)) --dec-layers $((n % 3))"
                        configs+=("all$n w.h5 20 --cell $cell $dir --attn $attn --input-feed $feed --tie-embeddings=$tie --emb 32 $layers")
                    done
                done
            done
        done
    done
fi
# One configuration: trained, then translated greedy, with beam 4 and its 4-best list, and
# (models with attention) with <unk> replaced; a case line for check-translate per translation
# in NAME.cases, or NAME.fail. The configurations run as background jobs, at most 4 at a time:
# an s2s command spends most of its 0.4 s starting MPI, waiting rather than computing.
run_config() {
    local name=$1 data=$2 steps=$3 opts=$4 ckpt run tag args strict
    # shellcheck disable=SC2086  # the options are words
    if ! "$s2s" train --data "$data" --run-dir "$name" --steps "$steps" --optim adam --lr 0.01 \
           --batch 32 --hidden 32 --emb 16 --attn none --dropout 0 --label-smoothing 0 --warmup 0 \
           --valid-every 0 --samples 0 --progress plain --log-every 0 $opts > "$name.log" 2>&1; then
        { cat "$name.log"; echo "training $name"; } > "$name.fail"
        return
    fi
    ckpt=$(ls "$name"/ckpt-*.h5 | tail -n 1)
    local runs=("greedy --beam 1 --scores" "beam --beam 4 --nbest 4")
    [[ $opts == *"--attn "[bdg]* ]] && runs+=("unk --beam 4 --scores --replace-unk")
    # other length penalties (alpha 2 favours long hypotheses: the stopping bound decides) and
    # length limits, for one partly trained model
    [ "$name" = lstm_dot ] && runs+=("lp2 --beam 4 --nbest 4 --length-penalty 2"
                                     "lp0 --beam 3 --nbest 2 --length-penalty 0 --max-len-ratio 1.5")
    for run in "${runs[@]}"; do
        read -r tag args <<< "$run"
        # shellcheck disable=SC2086
        if "$s2s" translate --checkpoint "$ckpt" --input input.txt --output "$name.$tag" \
               $args 2> "$name.$tag.err"; then
            strict=
            [ "$name.$tag" = gru_bahdanau.greedy ] && strict=--strict # well trained: no near-tie
            echo "agree $ckpt input.txt $name.$tag $args $strict" >> "$name.cases"
        else
            { cat "$name.$tag.err"; echo "s2s translate $name $args"; } >> "$name.fail"
        fi
    done
}
for entry in "${configs[@]}"; do
    read -r name data steps opts <<< "$entry"
    while [ "$(jobs -rp | wc -l)" -ge 4 ]; do wait -n; done
    run_config "$name" "$data" "$steps" "$opts" &
done
wait
list=cases.txt
: > "$list"
for entry in "${configs[@]}"; do
    read -r name _ <<< "$entry"
    if [ -f "$name.fail" ]; then
        cat "$name.fail"
        fail "$(tail -n 1 "$name.fail")"
    fi
    [ -f "$name.cases" ] && cat "$name.cases" >> "$list"
done
best=gru_bahdanau/ckpt-00000200.h5
grep -q 'exact match 0.9' gru_bahdanau.log || grep -q 'exact match 1.0' gru_bahdanau.log ||
    fail "gru_bahdanau should be well trained: $(grep '^final' gru_bahdanau.log)"
grep -q '<unk>' gru_bahdanau.greedy && ok "the models write <unk>: --replace-unk has work" ||
    fail "no <unk> in gru_bahdanau's translations: --replace-unk would not be checked"
# 4. One rule changed in the twin: the comparison must see it (tie order needs the zero model,
# the greedy lane the untrained one, the stopping bound a penalty that favours long hypotheses).
zero=zero/ckpt-00000000.h5
cat >> "$list" <<EOF
differ $best input.txt gru_bahdanau.beam --beam 4 --nbest 4 --perturb length-penalty
differ $zero input.txt zero.greedy --beam 1 --perturb max-len
differ $zero input.txt zero.beam --beam 4 --nbest 4 --perturb ties
differ $best input.txt gru_bahdanau.beam --beam 4 --nbest 4 --perturb eos-length
differ untrained/ckpt-00000000.h5 input.txt untrained.beam --beam 4 --nbest 4 --perturb lane
differ lstm_dot/ckpt-00000060.h5 input.txt lstm_dot.lp2 --beam 4 --nbest 4 --length-penalty 2 --perturb stop
agree export.pt input.txt gru_bahdanau.beam --beam 4 --nbest 4
agree export.pt input.txt gru_bahdanau.unk --beam 4 --scores --replace-unk
EOF

# ---- 5. export, the translate command, the options the twin knows ------------------------------
"$s2s" info "$best" > info.txt 2>&1 || fail "s2s info $best: $(cat info.txt)"
"$s2s" translate --checkpoint "$best" --input input.txt --beam 1 > s2s_plain.txt 2>/dev/null ||
    fail "s2s translate $best"
if "$python" - "$twin" "$best" info.txt > snippet.txt 2>&1 <<'EOF_PY'; then
import os, shutil, sys
import h5py, torch
sys.path.insert(0, os.path.dirname(os.path.realpath(sys.argv[1])))
import torch_twin
twin, ckpt, info = sys.argv[1:]

# export, then the plain round trip docs/model.md shows: torch.load + the twin's constructor
assert torch_twin.main(["export", ckpt, "export.pt"]) == 0
import json
meta = json.load(open("export.json"))
sd = torch.load("export.pt", weights_only=True)
model = torch_twin.S2S(torch_twin.Config.from_attrs(meta["config"]))
model.load_state_dict(sd)
ref = torch_twin.load_params(ckpt, torch.float32).state_dict()
assert list(sd) == list(ref), (list(sd), list(ref))
assert all(torch.equal(sd[k], ref[k]) for k in ref), "tensors changed on the way"
assert all(isinstance(v, torch.Tensor) for v in sd.values())
print(f"ok: export.pt is a plain state_dict of {len(sd)} tensors, equal to the checkpoint's")

# the translate command (greedy, text only), compared byte for byte by the shell
assert torch_twin.main(["translate", ckpt, "--input", "input.txt", "--output", "twin_plain.txt",
                        "--beam", "1"]) == 0

# the twin's model options are s2s's (s2s info lists them under "model")
section, model_keys, train_keys = None, [], []
for line in open(info):
    if not line.startswith(" "):
        section = line.strip()
    elif section in ("model", "training options"):
        (model_keys if section == "model" else train_keys).append(line.split()[0])
assert tuple(model_keys) == torch_twin.MODEL_OPTIONS, (model_keys, torch_twin.MODEL_OPTIONS)
unknown = [k for k in train_keys
           if k not in torch_twin.TRAINING_OPTIONS and not k.startswith(torch_twin.DATA_PREFIX)]
assert not unknown, f"s2s train options the twin does not know: {unknown} (TRAINING_OPTIONS)"
print(f"ok: the twin knows s2s's {len(model_keys)} model options and {len(train_keys)} "
      f"training options")

# an option the twin does not know, and a tokenizer it does not implement: one line naming it
import contextlib, io
def refused(path, args, needle):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = torch_twin.main(args)
    lines = err.getvalue().strip().splitlines()
    assert rc != 0 and len(lines) == 1 and needle in lines[0], (rc, lines)
    print(f"ok: refused: {lines[0]}")
shutil.copy(ckpt, "future.h5")
with h5py.File("future.h5", "r+") as f:
    f["config"].attrs["layer-norm"] = "true"
refused("future.h5", ["info", "future.h5"], "/config layer-norm")
with contextlib.redirect_stdout(io.StringIO()):
    assert torch_twin.main(["info", "future.h5", "--ignore-option", "layer-norm"]) == 0
shutil.copy(ckpt, "spm.h5")
with h5py.File("spm.h5", "r+") as f:
    f["config"].attrs["data.tokenizer"] = "sentencepiece"
refused("spm.h5", ["translate", "spm.h5", "--input", "input.txt"], "data.tokenizer 'sentencepiece'")
EOF_PY
    cat snippet.txt
else
    cat snippet.txt
    fail "export, translate command and options"
fi
cmp -s s2s_plain.txt twin_plain.txt && ok "torch_twin.py translate writes what s2s translate writes" ||
    { diff s2s_plain.txt twin_plain.txt | head; fail "torch_twin.py translate differs from s2s translate"; }

# ---- 3, 4. every case in one Python process --------------------------------------------------
if "$python" "$twin" check-translate "$list" > check.txt 2>&1; then
    cat check.txt
    ok "$(grep -c '^agree' "$list") translations equal s2s's, $(grep -c '^differ' "$list") changed rules seen"
else
    cat check.txt
    fail "torch_twin.py check-translate"
fi

if [ "$failures" -ne 0 ]; then
    echo "twin_decode: $failures failure(s)"
    exit 1
fi
echo "twin_decode: all checks passed"
