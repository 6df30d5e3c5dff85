#!/usr/bin/env bash
# decode.sh - translation and evaluation end to end through the s2s binary:
#   1. a generated task (reversing 4-14 symbols) is prepared and trained briefly on 2 MPI ranks
#      with Bahdanau attention, far enough to translate well but not perfectly;
#   2. `s2s eval` on the validation split (greedy) reports the loss, perplexity, BLEU (on the
#      text and on the tokens) and exact match that training's own final validation reported;
#   3. `s2s translate` gives the same output on 1 and 2 ranks (beam 5 and greedy); n-best lists
#      are sorted; beam 1 equals greedy; BLEU of `eval --hyp/--ref` on the translate output of the
#      test split equals the dataset mode's 13a BLEU of the same decoding;
#   4. the attention file holds one weight matrix per sentence, rows summing to 1, with the tokens;
#   5. bad input to translate, eval and info gets one error line and a non-zero status;
#   6. a run directory named with a quote, a backslash, a control byte and bytes that are not
#      UTF-8 still gives metrics.jsonl records and an eval line that a strict JSON parser reads.
#
#   decode.sh S2S_BINARY MPIEXEC
set -u
if [ $# -ne 2 ]; then
    echo "usage: decode.sh S2S_BINARY MPIEXEC" >&2
    exit 2
fi
s2s=$1 mpiexec=$2
# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
test_begin decode
# train, translate and eval start MPI even on one rank; under AddressSanitizer (scripts/test.sh)
# Open MPI's own allocations, left at exit in unloaded plugins, would be reported as leaks, so
# leak checking is off here as for every MPI program of the suite (the modules' own leaks are
# checked in their unit tests).
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
# json FILE KEY: the number KEY of the last line of FILE (a JSON object)
json() { tail -n 1 "$1" | sed -n "s/.*\"$2\":\([-0-9.eE+]*\).*/\1/p"; }
# close A B TOL: |A - B| <= TOL
close() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && b != "" && d <= t) }'; }

# ---- 1. data and a briefly trained model ----------------------------------------------------
"$s2s" gen reverse --symbols 20 --min-len 4 --max-len 14 --train 20000 --valid 300 --test 300 \
    --seed 3 --out t >/dev/null 2>&1 &&
"$s2s" prep --train-src t.train.src --train-tgt t.train.tgt --valid-src t.valid.src \
    --valid-tgt t.valid.tgt --test-src t.test.src --test-tgt t.test.tgt --out t.h5 >/dev/null ||
    { echo "FAIL: data"; exit 1; }
if ! "$mpiexec" -np 2 "$s2s" train --data t.h5 --run-dir run --attn bahdanau --hidden 96 \
       --emb 32 --batch 64 --steps 120 --optim adam --lr 0.003 --warmup 0 --dropout 0 --label-smoothing 0 --valid-every 30 --best-metric bleu \
       --bucket-window 1 --samples 0 --progress plain --log-every 0 > train.log 2>&1; then
    cat train.log
    echo "FAIL: training"
    exit 1
fi
ckpt=run/ckpt-00000120.h5
[ -f "$ckpt" ] || { ls run; echo "FAIL: no final checkpoint"; exit 1; }
final=$(grep '"type":"final"' run/metrics.jsonl | tail -n 1)
valid=$(grep '"type":"valid"' run/metrics.jsonl | tail -n 1)
echo "training: $(grep '^final:' train.log)"
# --best-metric bleu: best.h5 is the checkpoint of the validation with the highest BLEU
"$s2s" info --json run/best.h5 > best.json 2>&1 || fail "s2s info best.h5: $(cat best.json)"
python3 - run/metrics.jsonl best.json <<'EOF_PY' && ok "best.h5 is the validation of the highest BLEU" || fail "best.h5 by BLEU"
import json, sys
valid = [json.loads(l) for l in open(sys.argv[1]) if '"type":"valid"' in l]
state = json.load(open(sys.argv[2]))["state"]
best = max(valid, key=lambda r: (r["bleu"], -r["step"]))
assert len(valid) >= 4, valid
assert state["best_step"] == best["step"] == state["step"], (state, best)
assert abs(state["best_valid"] + best["bleu"]) < 1e-3, (state, best)
assert len({round(r["bleu"], 2) for r in valid}) > 1, "BLEU never changed: the choice means nothing"
EOF_PY

# ---- 2. eval agrees with training's validation ---------------------------------------------
# Both score and decode the same sentences with the same parameters, in other batches (eval: 32
# sentences at a time on 1 rank, validation: the loader's batches on 2 ranks), so per token the
# float forward passes differ by rounding only: GEMMs of other shapes, summed in other orders.
#  - Loss. A token's log-probability ends D = 2 * 14 + 6 * 15 + 2 = 120 dependent stages
#    (tests/unit/test_beam.c, score_tolerance: one bidirectional layer, <= 14 source and 15
#    target steps, attention), each a sum of at most k = 3H = 288 terms. With rounding errors
#    that do not all push one way (Higham and Mary's probabilistic bound: a sum of k terms is
#    within lambda sqrt(k) u of the size of its terms, except with probability
#    2 exp(-lambda^2 / 2); lambda = 6, u = 2^-24), errors of independent stages adding up as
#    sqrt(D), kappa = 10 (test_model.c's allowance) and logits of at most Z = 10 (this model's
#    NLL is 1.3 nats), a token's NLL differs by e = 2 lambda sqrt(D k) u kappa Z = 1.3e-2
#    between the two, and the mean over N independent tokens by e / sqrt(N) (2.4e-4 for the
#    3095 here), plus 1e-5 for the 6 digits both print. Observed: equal to 6 digits under
#    every OpenBLAS kernel. A token lost or counted twice, one nat off the mean, moves the mean
#    by 1 / N = 3.2e-4.
#  - BLEU and exact match. Greedy decoding changes only where a step's two best logits lie
#    within the passes' rounding difference of each other (the unit tests measure at most 5e-7
#    for float log-probabilities of different shapes): with ~3000 decisions and top-two margins
#    spread over nats, the expected number of flipped decisions is ~3000 x 1e-6 = 3e-3. One
#    flip re-decodes the rest of one sentence: exact match moves by 1/300 and BLEU by at most
#    ~0.25 (15 of ~3100 tokens' n-grams). The tolerances allow 3 (exact match 0.01) and 2
#    (BLEU 0.5) such sentences: a chance below 1e-8. A bug in either path (lengths, limits,
#    tokens) changes far more sentences.
if "$s2s" eval --checkpoint "$ckpt" --data t.h5 --split valid --beam 1 > ev.txt 2>&1; then
    cat ev.txt
    tv_loss=$(echo "$valid" | sed -n 's/.*"loss":\([-0-9.eE+]*\).*/\1/p')
    tv_bleu=$(echo "$final" | sed -n 's/.*"bleu":\([-0-9.eE+]*\).*/\1/p')
    tv_bleu_tok=$(echo "$final" | sed -n 's/.*"bleu_tokens":\([-0-9.eE+]*\).*/\1/p')
    tv_em=$(echo "$final" | sed -n 's/.*"exact_match":\([-0-9.eE+]*\).*/\1/p')
    e_loss=$(json ev.txt loss) e_bleu=$(json ev.txt bleu) e_em=$(json ev.txt exact_match)
    e_bleu_tok=$(json ev.txt bleu_tokens)
    n_tok=$(sed -n 's/.* sentences, \([0-9]*\) target tokens.*/\1/p' ev.txt)
    loss_tol=$(awk -v n="${n_tok:-1}" 'BEGIN { lambda = 6; D = 120; k = 288; u = 2 ^ -24
        kappa = 10; Z = 10; e = 2 * lambda * sqrt(D * k) * u * kappa * Z
        printf "%.2g\n", e / sqrt(n) + 1e-5 }')
    close "$e_loss" "$tv_loss" "$loss_tol" &&
        ok "eval loss $e_loss = validation loss $tv_loss (tolerance $loss_tol, $n_tok tokens)" ||
        fail "eval loss $e_loss, training's validation loss $tv_loss (tolerance $loss_tol)"
    close "$e_bleu" "$tv_bleu" 0.5 && ok "eval BLEU (13a) $e_bleu = validation BLEU $tv_bleu" ||
        fail "eval BLEU (13a) $e_bleu, training's validation BLEU $tv_bleu"
    close "$e_bleu_tok" "$tv_bleu_tok" 0.5 &&
        ok "eval BLEU (tokens) $e_bleu_tok = validation token BLEU $tv_bleu_tok" ||
        fail "eval BLEU (tokens) $e_bleu_tok, training's validation token BLEU $tv_bleu_tok"
    close "$e_em" "$tv_em" 0.01 && ok "eval exact match $e_em = validation $tv_em" ||
        fail "eval exact match $e_em, training's validation exact match $tv_em"
    awk -v b="$e_bleu" 'BEGIN { exit !(b > 20 && b < 100) }' &&
        ok "the model is neither useless nor perfect (BLEU $e_bleu): the comparison means something" ||
        fail "BLEU $e_bleu: the test model should be partly trained"
else
    cat ev.txt
    fail "eval --checkpoint"
fi

# ---- 3. translate: ranks, beams, n-best, files ---------------------------------------------
"$s2s" translate --checkpoint "$ckpt" --input t.test.src --output b5_1.txt 2>/dev/null &&
"$mpiexec" -np 2 "$s2s" translate --checkpoint "$ckpt" --input t.test.src --output b5_2.txt \
    --batch 16 2>/dev/null &&
"$s2s" translate --checkpoint "$ckpt" --input t.test.src --output b5_1s.txt --batch 16 \
    2>/dev/null || fail "translate (beam 5)"
cmp -s b5_1s.txt b5_2.txt && ok "beam 5: 2 ranks give the output of 1 rank" ||
    fail "beam 5: 2 ranks differ from 1 rank"
[ "$(wc -l < b5_1.txt)" -eq 300 ] && ok "one line per input line" || fail "line count"
"$s2s" translate --checkpoint "$ckpt" --input t.test.src --beam 1 --output g1.txt 2>/dev/null &&
"$mpiexec" -np 2 "$s2s" translate --checkpoint "$ckpt" --input t.test.src --beam 1 \
    --output g2.txt 2>/dev/null || fail "translate (greedy)"
cmp -s g1.txt g2.txt && ok "greedy: 2 ranks give the output of 1 rank" || fail "greedy: ranks differ"
"$s2s" translate --checkpoint "$ckpt" --input t.test.src --beam 4 --nbest 4 --output nb.txt \
    2>/dev/null || fail "translate --nbest"
awk -F' \\|\\|\\| ' '
    { if (NR == 1 || $1 != last) { n[$1] = 0; prev = 1e9 } last = $1; n[$1]++
      if ($3 + 0 > prev + 1e-9) bad = bad " unsorted:" $1; prev = $3 + 0
      if (seen[$1 SUBSEP $2]++) bad = bad " duplicate:" $1 }
    END { for (i in n) if (n[i] != 4) bad = bad " count:" i; if (NR != 1200) bad = bad " lines:" NR
          if (bad) { print bad; exit 1 } }' nb.txt && ok "n-best: 4 distinct hypotheses per sentence, best first" ||
    fail "n-best list malformed"
# the first of each n-best list is the beam-4 translation
awk -F' \\|\\|\\| ' 'NR == 1 || $1 != last { print $2 } { last = $1 }' nb.txt > nb_first.txt
"$s2s" translate --checkpoint "$ckpt" --input t.test.src --beam 4 --output b4.txt 2>/dev/null
cmp -s nb_first.txt b4.txt && ok "n-best lists start with the 1-best translation" ||
    fail "n-best first entries differ from the 1-best output"

"$s2s" eval --checkpoint "$ckpt" --data t.h5 --split test --output ev_test.txt > evt.txt 2>&1 ||
    { cat evt.txt; fail "eval --split test"; }
cmp -s ev_test.txt b5_1.txt && ok "eval decodes the test split as translate does (beam 5)" ||
    fail "eval --output differs from translate"
"$s2s" eval --hyp b5_1.txt --ref t.test.tgt > evf.txt 2>&1 || { cat evf.txt; fail "eval --hyp"; }
cat evf.txt
[ "$(json evf.txt bleu)" = "$(json evt.txt bleu)" ] &&
    ok "BLEU of the files ($(json evf.txt bleu)) = dataset mode's 13a BLEU" ||
    fail "BLEU of the files $(json evf.txt bleu) differs from the dataset mode's $(json evt.txt bleu)"
[ "$(json evf.txt chrf)" = "$(json evt.txt chrf)" ] && ok "chrF agrees too" ||
    fail "chrF of the files $(json evf.txt chrf), dataset mode $(json evt.txt chrf)"

# ---- 4. attention file -----------------------------------------------------------------------
head -n 20 t.test.src > few.src
"$s2s" translate --checkpoint "$ckpt" --input few.src --attention att.h5 --output few.txt \
    2>/dev/null || fail "translate --attention"
python=
for candidate in /usr/bin/python3 "$(command -v python3 2>/dev/null || true)"; do
    if [ -n "$candidate" ] && "$candidate" -c 'import h5py, numpy' 2>/dev/null; then
        python=$candidate
        break
    fi
done
if [ -z "$python" ]; then
    fail "no python3 with h5py and numpy to read the attention file (scripts/deps.sh installs them)"
else
    "$python" - att.h5 few.src few.txt <<'EOF' && ok "attention file: shapes, tokens, rows sum to 1" || fail "attention file"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
src = open(sys.argv[2]).read().split("\n")[:-1]
out = open(sys.argv[3]).read().split("\n")[:-1]
assert f.attrs["format"] in ("s2s-attention", b"s2s-attention"), f.attrs["format"]
assert int(f.attrs["count"]) == len(src) == 20
for i in range(len(src)):
    g = f["%08d" % i]
    w = g["weights"][()]
    s = [x.decode() if isinstance(x, bytes) else x for x in g["source"][()]]
    t = [x.decode() if isinstance(x, bytes) else x for x in g["target"][()]]
    assert s == src[i].split(), (i, s)
    words = t[:-1] if t and t[-1] == "</s>" else t
    assert " ".join(words) == out[i], (i, words, out[i])
    assert w.shape == (len(t), len(s)), (i, w.shape)
    # one softmax per row (tests/unit/test_model.c, attention_ignores_padding: 2 S + 2
    # roundings of 2^-24), stored as float32 (2^-24 more), summed here in float64
    tol = (2 * len(s) + 4) * 2.0 ** -24
    assert np.allclose(w.sum(axis=1, dtype=np.float64), 1, rtol=0, atol=tol), (i, w.sum(axis=1))
EOF
fi

# ---- 5. bad input: one error line, non-zero status --------------------------------------------
expect_error() { # expect_error PATTERN COMMAND...: fails unless the command fails with PATTERN
    local pattern=$1
    shift
    "$@" > err.out 2> err.txt < /dev/null
    local status=$?
    drop_kernel_note err.txt
    local lines
    lines=$(grep -c . err.txt)
    if [ $status -ne 0 ] && grep -q -- "$pattern" err.txt && [ "$lines" -eq 1 ]; then
        ok "error ($status): $(cat err.txt)"
    else
        fail "expected one error line matching '$pattern', got status $status: $(cat err.txt)"
    fi
}
expect_error "cannot open\|No such file\|missing" "$s2s" translate --checkpoint nothere.h5 --input few.src
head -c 20000 "$ckpt" > trunc.h5
expect_error "trunc.h5" "$s2s" translate --checkpoint trunc.h5 --input few.src
echo "not hdf5" > text.h5
expect_error "text.h5" "$s2s" eval --checkpoint text.h5 --data t.h5
expect_error "unknown option" "$s2s" translate --checkpoint "$ckpt" --bogus 1
expect_error "unknown option" "$s2s" eval --bogus
expect_error "nbest" "$s2s" translate --checkpoint "$ckpt" --beam 2 --nbest 3 --input few.src
expect_error "either" "$s2s" eval --hyp b5_1.txt
printf 'a b\n\xff\xfe c\n' > bad.src
expect_error "bad.src:2" "$s2s" translate --checkpoint "$ckpt" --input bad.src
head -n 5 t.test.tgt > short.tgt
expect_error "lines" "$s2s" eval --hyp b5_1.txt --ref short.tgt
# a dataset with another vocabulary (a different symbol set)
"$s2s" gen reverse --symbols 12 --min-len 4 --max-len 8 --train 500 --valid 20 --test 20 \
    --seed 5 --out o >/dev/null 2>&1 &&
"$s2s" prep --train-src o.train.src --train-tgt o.train.tgt --test-src o.test.src \
    --test-tgt o.test.tgt --out o.h5 >/dev/null || fail "second dataset"
expect_error "vocabulary mismatch" "$s2s" eval --checkpoint "$ckpt" --data o.h5
# no attention in the model: --replace-unk and --attention are refused
"$mpiexec" -np 1 "$s2s" train --data o.h5 --run-dir plain --attn none --hidden 16 --emb 8 --steps 2 \
    --batch 16 --samples 0 --progress plain > plain.log 2>&1 || { cat plain.log; fail "plain model"; }
expect_error "attention" "$s2s" translate --checkpoint plain/ckpt-00000002.h5 --replace-unk --input few.src
expect_error "no.h5" "$s2s" info no.h5

# ---- 6. JSON whatever a path holds ------------------------------------------------------------
# Python's strict reading (bytes decoded as UTF-8, then json.loads) fails on an unescaped quote or
# control byte and on bytes that are not UTF-8: those must arrive as escapes and \ufffd
# (include/s2s/json.h). Two steps, each validated and checkpointed: every record type. ~1 s.
odd=$(printf 'odd"q\\b\001\377\303(')
if "$mpiexec" -np 1 "$s2s" train --data t.h5 --run-dir "$odd" --hidden 16 --emb 8 --steps 2 \
       --batch 16 --valid-every 1 --ckpt-every 1 --log-every 1 --samples 0 --progress plain \
       > odd.log 2>&1 &&
   "$s2s" eval --checkpoint "$odd/ckpt-00000002.h5" --data t.h5 --split valid --beam 1 \
       > odd_eval.txt 2>&1; then
    python3 - "$odd/metrics.jsonl" odd_eval.txt <<'EOF_PY' &&
import json, sys
name = 'odd"q\\b\x01\ufffd\ufffd('  # the directory's name as JSON can hold it
types = set()
for line in open(sys.argv[1], "rb"):
    r = json.loads(line.decode("utf-8"))
    types.add(r["type"])
    if r["type"] == "checkpoint":
        assert r["file"].startswith(name + "/"), r["file"]
assert types == {"train", "valid", "checkpoint", "final"}, types
last = json.loads(open(sys.argv[2], "rb").read().splitlines()[-1].decode("utf-8"))
assert last["checkpoint"] == name + "/ckpt-00000002.h5", last["checkpoint"]
EOF_PY
        ok "metrics.jsonl and eval's last line are JSON with a run directory named $(printf %q "$odd")" ||
        fail "invalid JSON with a run directory named $(printf %q "$odd")"
else
    cat odd.log odd_eval.txt
    fail "training or eval with a run directory named $(printf %q "$odd")"
fi

# ---- 6b. the PyTorch twin reads a checkpoint as training wrote it ------------------------------
# (--input-feed auto, vocabulary sizes only in /vocab), where a Python with torch and h5py exists.
twin_py=
for candidate in /usr/bin/python3 "$(command -v python3 2>/dev/null || true)"; do
    if [ -n "$candidate" ] && "$candidate" -c 'import torch, h5py' >/dev/null 2>&1; then
        twin_py=$candidate
        break
    fi
done
if [ -z "$twin_py" ]; then
    echo "note: no Python with torch and h5py: the twin's reading of a checkpoint not checked"
elif "$twin_py" "$(dirname "${BASH_SOURCE[0]}")/../../scripts/torch_twin.py" info "$ckpt" \
         > twin_info.txt 2>&1 &&
         grep -q "^src-vocab = $(wc -l < t.src.vocab)$" twin_info.txt &&
         grep -q '^input-feed = false$' twin_info.txt; then
    ok "torch_twin.py info reads the checkpoint (input-feed auto, vocabularies from /vocab)"
else
    cat twin_info.txt; fail "torch_twin.py info on $ckpt"
fi

# ---- 7. streaming: a line written to a pipe is answered before the pipe closes ----------------
# One line at a time through a pipe, on 1 rank and on 2 (mpiexec forwards stdin to rank 0): each
# translation must arrive while stdin is still open, and be the one a file holding that line
# alone gets (the same batch: one sentence); the end of the input ends the run with the usual
# summary.
stream_check() { # stream_check NAME COMMAND...
    python3 - "$@" <<'EOF_PY'
import select, subprocess, sys
name, cmd = sys.argv[1], sys.argv[2:]
src = [l.rstrip("\n") for l in open("t.test.src")][:3]
want = []
for k, line in enumerate(src):
    open(f"one{k}.src", "w").write(line + "\n")
    whole = subprocess.run(cmd + ["--input", f"one{k}.src"], capture_output=True, check=True)
    want.append(whole.stdout.decode().rstrip("\n"))
p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
for line, expect in zip(src, want):
    p.stdin.write((line + "\n").encode()); p.stdin.flush()
    ready, _, _ = select.select([p.stdout], [], [], 60)
    if not ready:
        p.kill(); sys.exit(f"{name}: no translation of {line!r} within 60 s with stdin open")
    got = p.stdout.readline().decode().rstrip("\n")
    if got != expect:
        p.kill(); sys.exit(f"{name}: {line!r} -> {got!r}, the whole-file run gave {expect!r}")
p.stdin.close()
rest, err = p.stdout.read(), p.stderr.read()
p.wait(timeout=60)
if p.returncode != 0 or rest or b"translated 3 sentences" not in err:
    sys.exit(f"{name}: exit {p.returncode}, more output {rest!r}, stderr {err.decode()!r}")
EOF_PY
}
stream_check "1 rank" "$s2s" translate --checkpoint "$ckpt" --beam 1 &&
    ok "streaming on 1 rank: each piped line answered before stdin closed" ||
    fail "streaming on 1 rank"
stream_check "2 ranks" "$mpiexec" -np 2 "$s2s" translate --checkpoint "$ckpt" --beam 1 &&
    ok "streaming on 2 ranks: each piped line answered before stdin closed" ||
    fail "streaming on 2 ranks"
if "$s2s" translate --checkpoint "$ckpt" --stream on --attention a.h5 < t.test.src > /dev/null \
       2> stream_att.err; then
    fail "--stream on with --attention accepted"
else
    grep -q -- "--attention writes one file for the whole input" stream_att.err &&
        ok "--stream on refuses --attention in one line" || fail "--stream on --attention: $(cat stream_att.err)"
fi

# Signs of life: the counted display on stderr, counting every sentence once on 2 ranks; plain
# by default under mpiexec (no escape codes in a redirected log).
n_test=$(wc -l < t.test.src)
"$mpiexec" -np 2 "$s2s" translate --checkpoint "$ckpt" --input t.test.src --output pl.txt \
    --progress live 2> live.err && tr '\r' '\n' < live.err |
    grep -q "^\[#*\] 100% translate: $n_test/$n_test sentences" &&
    ok "translate --progress live: the bar ends at $n_test/$n_test" ||
    fail "translate --progress live: $(tr '\r' '\n' < live.err | tail -2)"
"$mpiexec" -np 2 "$s2s" eval --checkpoint "$ckpt" --data t.h5 > ev.out 2> ev.err &&
    ! grep -q "$(printf '\033')" ev.err ev.out && ok "eval under mpiexec: no escape codes" ||
    fail "eval under mpiexec wrote escape codes: $(cat -v ev.err | head -2)"

if [ $failures -ne 0 ]; then
    echo "decode.sh: $failures failure(s)"
    exit 1
fi
echo "decode.sh: all checks passed"
