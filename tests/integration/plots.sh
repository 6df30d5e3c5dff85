#!/usr/bin/env bash
# plots.sh - the plotting scripts run and write PNGs:
#   1. scripts/plot_metrics.py on a made-up metrics.jsonl of a run resumed twice (steps repeat,
#      a null value, BLEU on some validations, a last line cut short) and on a run directory;
#   2. scripts/plot_attention.py on an attention file written here with h5py in the layout of
#      `s2s translate --attention` (--list, two sentences, an index out of range);
#   3. --help, and a clear error with a non-zero exit for a missing or malformed file.
# Both scripts are started with the first python3 on PATH, as a user would: when that one
# lacks matplotlib, numpy or h5py they must find /usr/bin/python3 themselves. The test needs a
# python3 with matplotlib, numpy and h5py (scripts/deps.sh --python installs Debian's); without
# one it fails and names the missing modules. A failed check exits 1.
#
#   plots.sh SOURCE_DIR
set -u
if [ $# -ne 1 ]; then
    echo "usage: plots.sh SOURCE_DIR" >&2
    exit 2
fi
root=$1
metrics_py=$root/scripts/plot_metrics.py
attention_py=$root/scripts/plot_attention.py
work=$(mktemp -d "${TMPDIR:-/tmp}/s2s_plots.XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
cd "$work" || exit 1

# ---- a python with the modules (the same search as the scripts') --------------------------------
modules="matplotlib numpy h5py"
python=
report=
for candidate in "${PYTHON:-}" /usr/bin/python3 "$(command -v python3 2>/dev/null || true)"; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    missing=
    for m in $modules; do
        "$candidate" -c "import $m" >/dev/null 2>&1 || missing="$missing $m"
    done
    if [ -z "$missing" ]; then
        python=$candidate
        break
    fi
    report="$report $candidate lacks$missing;"
done
if [ -z "$python" ]; then
    echo "FAIL: no python3 here imports $modules:$report install them with" \
         "scripts/deps.sh --python (apt-get install python3-matplotlib python3-numpy python3-h5py)"
    exit 1
fi
echo "using $python for the test files (matplotlib $("$python" -c 'import matplotlib; print(matplotlib.__version__)'), h5py $("$python" -c 'import h5py; print(h5py.__version__)'))"
# What a user types: python3 from PATH (which may lack the modules; the scripts then re-run
# themselves with one that has them).
user_py=$(command -v python3 2>/dev/null || echo "$python")

# A PNG: exists, non-empty, with the PNG signature.
is_png() {
    [ -s "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ]
}

# Runs a command that must fail: non-zero exit and a message matching the pattern on stderr.
expect_error() {
    local what=$1 pattern=$2
    shift 2
    if "$@" >out.txt 2>err.txt; then
        fail "$what: exit status 0"
    elif ! grep -q -- "$pattern" err.txt; then
        fail "$what: message does not match '$pattern':"; cat err.txt
    else
        ok "$what: $(head -1 err.txt)"
    fi
}

# ---- 1. metrics ---------------------------------------------------------------------------------
mkdir run
"$python" - run/metrics.jsonl <<'EOF' || { echo "FAIL: cannot write metrics.jsonl"; exit 1; }
import json, math, sys
recs = []
def train(s, loss, lr):
    recs.append({"type": "train", "step": s, "epoch": 0, "loss": loss,
                 "ppl": None if loss is None else math.exp(loss), "tokens_per_s": 1000.0 + s,
                 "lr": lr, "gnorm": 1.0, "skipped": 0, "ranks": 2, "threads": 1,
                 "window_s": 0.1, "phases": {"data": {"min": 0.1, "max": 0.2, "mean": 0.15}}})
def valid(s, loss, bleu=None):
    r = {"type": "valid", "step": s, "loss": loss, "ppl": math.exp(loss), "token_acc": 0.5,
         "sentences": 100, "best": True}
    if bleu is not None:
        r["bleu"] = bleu
    recs.append(r)
for s in range(10, 70, 10):            # run 1: killed after step 60, last checkpoint at 40
    train(s, 5 - s / 20, 0.003)
valid(20, 4.5); valid(40, 3.5); valid(60, 3.6)
recs.append({"type": "checkpoint", "step": 40, "file": "run/ckpt-00000040.h5", "seconds": 0.1,
             "ok": True})
recs.append({"type": "skip", "step": 30, "streak": 1})
for s in range(50, 110, 10):           # run 2: resumed at 40, steps 50 and 60 again
    train(s, None if s == 70 else 4 - s / 30, 0.003 * (1 - s / 120))
valid(60, 3.3, 7.5); valid(80, 3.0, 12.0); valid(100, 2.8, 15.5)
recs.append({"type": "final", "step": 100, "stopped": False, "valid_loss": 2.8,
             "exact_match": 0.1, "tokens_per_s": 2000.0, "params_hash": "0123456789abcdef"})
for s in range(110, 140, 10):          # run 3: continued after the end with more --steps
    train(s, 0.5, 0.0001)
valid(120, 2.7, 16.0)
with open(sys.argv[1], "w") as f:
    for r in recs:
        f.write(json.dumps(r, separators=(",", ":")) + "\n")
    f.write('{"type":"train","step":14')  # killed while writing
EOF

if "$user_py" "$metrics_py" run/metrics.jsonl -o metrics.png >out.txt 2>err.txt && is_png metrics.png; then
    ok "plot_metrics.py wrote metrics.png ($(wc -c <metrics.png) bytes): $(cat out.txt)"
    grep -q "13 training records (steps 10-130), 6 validations (steps 20-120), with BLEU" out.txt ||
        fail "plot_metrics.py: unexpected summary (latest record per step): $(cat out.txt)"
    grep -q "resumed at steps 50, 110" out.txt || fail "plot_metrics.py: resumes not found: $(cat out.txt)"
    grep -q "last line is cut short" err.txt || fail "plot_metrics.py: no warning for the cut line"
else
    fail "plot_metrics.py on run/metrics.jsonl"; cat out.txt err.txt
fi
# The run directory as argument: metrics.png beside metrics.jsonl; validations without BLEU.
grep -v '"bleu"' run/metrics.jsonl | head -8 >run2.jsonl && mkdir run2 && mv run2.jsonl run2/metrics.jsonl
if "$user_py" "$metrics_py" run2 >out.txt 2>err.txt && is_png run2/metrics.png; then
    ok "plot_metrics.py RUN_DIR wrote run2/metrics.png, no BLEU panel needed"
    grep -q "with BLEU" out.txt && fail "plot_metrics.py reports BLEU that is not there"
else
    fail "plot_metrics.py on a run directory"; cat out.txt err.txt
fi
if [ -x "$metrics_py" ] && "$metrics_py" --help >out.txt 2>&1 && grep -q "usage:" out.txt; then
    ok "plot_metrics.py --help"
else
    fail "plot_metrics.py --help (or the script is not executable)"; cat out.txt
fi
expect_error "plot_metrics.py, missing file" "no such file" "$user_py" "$metrics_py" nothing.jsonl
expect_error "plot_metrics.py, directory without metrics" "no metrics.jsonl" \
    "$user_py" "$metrics_py" "$work/run2/.."
printf 'not json\n{"type":"train","step":1,"loss":1}\n' >bad.jsonl
expect_error "plot_metrics.py, malformed line" "bad.jsonl:1: not a JSON record" \
    "$user_py" "$metrics_py" bad.jsonl -o bad.png
: >empty.jsonl
expect_error "plot_metrics.py, empty file" "empty" "$user_py" "$metrics_py" empty.jsonl

# ---- 2. attention -------------------------------------------------------------------------------
"$python" - attn.h5 <<'EOF' || { echo "FAIL: cannot write attn.h5"; exit 1; }
import sys
import h5py
import numpy as np
sentences = [("a b c d e".split(), "e d c b a </s>".split()),
             ("▁der ▁Hund ▁läuft".split(), "▁the ▁dog ▁runs".split())]  # unfinished: no </s>
text = h5py.string_dtype("utf-8")
with h5py.File(sys.argv[1], "w") as f:
    f.attrs["format"] = "s2s-attention"
    f.attrs["version"] = np.int32(1)
    f.attrs["count"] = np.int64(len(sentences))
    for i, (src, tgt) in enumerate(sentences):
        g = f.create_group(f"{i:08d}")
        w = np.full((len(tgt), len(src)), 0.05, dtype=np.float32)
        for t in range(min(len(tgt), len(src))):
            w[t, len(src) - 1 - t] = 1.0
        g.create_dataset("weights", data=w / w.sum(axis=1, keepdims=True))
        g.create_dataset("source", data=np.array(src, dtype=object), dtype=text)
        g.create_dataset("target", data=np.array(tgt, dtype=object), dtype=text)
        g.attrs["score"] = -0.75 * (i + 1)
with h5py.File("other.h5", "w") as f:
    f.attrs["format"] = "s2s-dataset"
EOF

if "$user_py" "$attention_py" attn.h5 --list >out.txt 2>err.txt &&
   grep -q "2 sentences" out.txt && grep -Eq "^ +1 +3 +3 .*▁der ▁Hund ▁läuft -> ▁the ▁dog ▁runs" out.txt; then
    ok "plot_attention.py --list"
else
    fail "plot_attention.py --list"; cat out.txt err.txt
fi
if "$user_py" "$attention_py" attn.h5 >out.txt 2>err.txt && is_png attn.00000000.png; then
    ok "plot_attention.py wrote attn.00000000.png ($(wc -c <attn.00000000.png) bytes): $(cat out.txt)"
else
    fail "plot_attention.py, sentence 0"; cat out.txt err.txt
fi
if "$user_py" "$attention_py" attn.h5 --sentence 1 -o s1.png >out.txt 2>err.txt && is_png s1.png &&
   grep -q "3 source x 3 target tokens" out.txt; then
    ok "plot_attention.py --sentence 1 -o s1.png"
else
    fail "plot_attention.py, sentence 1"; cat out.txt err.txt
fi
if [ -x "$attention_py" ] && "$attention_py" --help >out.txt 2>&1 && grep -q "usage:" out.txt; then
    ok "plot_attention.py --help"
else
    fail "plot_attention.py --help (or the script is not executable)"; cat out.txt
fi
expect_error "plot_attention.py, index out of range" "no sentence 2: the file holds 2 sentences" \
    "$user_py" "$attention_py" attn.h5 --sentence 2
expect_error "plot_attention.py, missing file" "no such file" "$user_py" "$attention_py" none.h5
expect_error "plot_attention.py, not HDF5" "not an HDF5 file" "$user_py" "$attention_py" bad.jsonl
expect_error "plot_attention.py, another format" "format attribute 's2s-dataset'" \
    "$user_py" "$attention_py" other.h5

if [ "$failures" -gt 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all plotting checks passed"
