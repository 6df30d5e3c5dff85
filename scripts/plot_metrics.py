#!/usr/bin/env python3
"""plot_metrics.py - the training curves of an s2s run, from the metrics.jsonl of `s2s train`.

    plot_metrics.py RUN_DIR [-o OUT.png]          # reads RUN_DIR/metrics.jsonl
    plot_metrics.py METRICS.jsonl [-o OUT.png]

One PNG (default: metrics.png beside metrics.jsonl) with panels against the optimizer step:
training loss with the validation loss, validation perplexity, validation BLEU (only when the
"valid" records have a "bleu" field), training tokens/s and the learning rate. Steps skipped
for non-finite gradients ("skip" records) are marked on the loss panel.

A run that was resumed appends to the same metrics.jsonl, so steps can repeat: when the step of
a record type goes back, the records of that type (of every type, when the training records go
back) from that step on belong to the abandoned part and are dropped, so the latest record of
each step is the one plotted; the steps where a run (re)started are marked. JSON nulls (non-finite values) are gaps. A last line cut short (a
run killed while writing) is skipped with a warning; any other malformed line is an error.

Needs matplotlib and numpy. When the python running this script lacks them, it runs itself
again with $PYTHON, /usr/bin/python3 or python3 on PATH, whichever imports them (Debian's
python3-matplotlib installs for /usr/bin/python3; scripts/deps.sh --python installs it), and
otherwise stops naming the missing modules. Exit status: 0, 1 on an error, 2 on bad usage.
"""
import argparse
import json
import math
import os
import sys

PROG = "plot_metrics.py"
MODULES = ("matplotlib", "numpy")


sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import s2s_pyutil  # noqa: E402  (beside this script)


def die(msg):
    s2s_pyutil.die(PROG, msg)


def require_modules(names):
    s2s_pyutil.require_modules(PROG, names, __file__)


# ---- reading --------------------------------------------------------------------------------

def number(v):
    """A plottable float: JSON null (a non-finite value) and non-numbers become NaN."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return math.nan
    return float(v)


def load(path):
    """The records of path by type, each {step: record} with the latest timeline kept, the
    steps at which a run (re)started after the first, and warnings (printed by the caller, once
    this python has the modules: the script may run itself again)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        die(f"{path}: cannot read: {e.strerror}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        die(f"{path}: not UTF-8 text (byte {e.start}); is this a metrics.jsonl?")
    lines = text.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        die(f"{path}: empty: no metrics recorded yet")
    by_type = {}
    warnings = []
    restarts = {"train": [], "valid": []}
    last_step = {}
    # A "final" record ends a run: the next record of a type starts a resumed run.
    finished = {"train": False, "valid": False}
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
        except ValueError as e:
            if i == len(lines) and i > 1:
                warnings.append(f"{path}:{i}: last line is cut short, skipped ({e})")
                break
            die(f"{path}:{i}: not a JSON record ({e}): {line[:80]!r}")
        if not isinstance(r, dict) or "type" not in r or "step" not in r:
            die(f"{path}:{i}: not an s2s metrics record (an object with \"type\" and "
                f"\"step\"): {line[:80]!r}")
        step = r["step"]
        if isinstance(step, bool) or not isinstance(step, (int, float)):
            die(f"{path}:{i}: \"step\" is not a number: {step!r}")
        kind = r["type"]
        recs = by_type.setdefault(kind, {})
        went_back = kind in last_step and step <= last_step[kind] and kind != "checkpoint"
        if went_back:
            # A resumed run repeats steps: what the earlier run logged from here on is replaced;
            # the training records, logged most often, drop the other types' records too.
            for k, other in by_type.items():
                if k == kind or kind == "train":
                    for s in [s for s in other if s >= step]:
                        del other[s]
        if kind in restarts:
            if went_back or finished[kind]:
                restarts[kind].append(step)
            finished[kind] = False
        if kind == "final":
            finished = {k: True for k in finished}
        last_step[kind] = step
        recs[step] = r
    # The run boundaries as the training records see them (validation records, which need not
    # be logged at every restart, only when there are no training records).
    return (by_type, restarts["train"] if by_type.get("train") else restarts["valid"],
            warnings)


def series(recs, field):
    """(steps, values) of field over recs {step: record}, in step order, where present."""
    steps, values = [], []
    for s in sorted(recs):
        if field in recs[s]:
            steps.append(s)
            values.append(number(recs[s][field]))
    return steps, values


# ---- plotting -------------------------------------------------------------------------------

def plot(by_type, restarts, title, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train, valid = by_type.get("train", {}), by_type.get("valid", {})
    skips = sorted(by_type.get("skip", {}))
    panels = []  # (title, ylabel, [(steps, values, label, style)], log scale)
    loss = [(*series(train, "loss"), "training", "-"), (*series(valid, "loss"), "validation", "o-")]
    panels.append(("Loss", "cross-entropy per token", loss, False))
    panels.append(("Validation perplexity", "perplexity",
                   [(*series(valid, "ppl"), "validation", "o-")], None))
    bleu = series(valid, "bleu")
    if bleu[0]:
        panels.append(("Validation BLEU", "BLEU", [(*bleu, "validation", "o-")], False))
    panels.append(("Training throughput", "target tokens / s",
                   [(*series(train, "tokens_per_s"), "all ranks", "-")], False))
    panels.append(("Learning rate", "learning rate", [(*series(train, "lr"), "lr", "-")], False))

    cols = 2
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(12, 3.6 * rows), squeeze=False)
    for ax, (name, ylabel, lines, log) in zip(axes.flat, panels):
        drawn = False
        for steps, values, label, style in lines:
            if not steps:
                continue
            ax.plot(steps, values, style, label=label, markersize=3)
            drawn = True
        if log is None:  # perplexity: log scale when it spans more than a decade
            finite = [v for _, vs, _, _ in lines for v in vs if math.isfinite(v) and v > 0]
            log = bool(finite) and max(finite) / min(finite) > 10
        if log:
            ax.set_yscale("log")
        if name == "Loss" and skips:
            for k, s in enumerate(skips):
                ax.axvline(s, color="red", lw=0.8, alpha=0.5,
                           label="skipped step" if k == 0 else None)
            drawn = True
        for k, s in enumerate(restarts):
            ax.axvline(s, color="gray", ls="--", lw=0.8,
                       label="resumed" if k == 0 and name == "Loss" else None)
        if not drawn:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes,
                    color="gray")
        ax.set(title=name, xlabel="step", ylabel=ylabel)
        ax.grid(alpha=0.3)
        if drawn and (len(lines) > 1 or name == "Loss"):
            ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    try:
        fig.savefig(out, dpi=110)
    except OSError as e:
        die(f"{out}: cannot write: {e.strerror}")
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__.split("\n\n", 1)[0].split(" - ", 1)[1],
        epilog=__doc__.split("\n\n", 2)[2])
    ap.add_argument("metrics", metavar="RUN_DIR_OR_METRICS_JSONL",
                    help="a run directory of s2s train (with metrics.jsonl) or the file itself")
    ap.add_argument("-o", "--out", metavar="OUT.png",
                    help="the PNG to write (default: metrics.png beside metrics.jsonl)")
    args = ap.parse_args()

    path = args.metrics
    if os.path.isdir(path):
        path = os.path.join(path, "metrics.jsonl")
        if not os.path.exists(path):
            die(f"{args.metrics}: no metrics.jsonl in this directory (is it the --run-dir of "
                f"s2s train?)")
    elif not os.path.exists(path):
        die(f"{path}: no such file or directory")
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(path)), "metrics.png")

    by_type, restarts, warnings = load(path)
    train, valid = by_type.get("train", {}), by_type.get("valid", {})
    if not train and not valid:
        die(f"{path}: no \"train\" or \"valid\" records to plot (types found: "
            f"{', '.join(sorted(by_type)) or 'none'})")
    require_modules(MODULES)
    for w in warnings:
        print(f"{PROG}: warning: {w}", file=sys.stderr)
    plot(by_type, restarts, os.path.abspath(path), out)

    span = lambda recs: f"steps {min(recs)}-{max(recs)}" if recs else "none"
    has_bleu = any("bleu" in r for r in valid.values())
    print(f"{PROG}: wrote {out}: {len(train)} training records ({span(train)}), "
          f"{len(valid)} validations ({span(valid)}){', with BLEU' if has_bleu else ''}"
          + (f"; resumed at step{'s' if len(restarts) > 1 else ''} "
             f"{', '.join(str(s) for s in restarts)}" if restarts else ""))


if __name__ == "__main__":
    main()
