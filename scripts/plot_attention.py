#!/usr/bin/env python3
"""plot_attention.py - an attention heatmap from the file of `s2s translate --attention FILE`.

    plot_attention.py ATTN.h5 [--sentence I] [-o OUT.png]   # sentence I (default 0) as a PNG
    plot_attention.py ATTN.h5 --list                          # the sentences, their lengths

The heatmap has the source tokens on the x axis and the target tokens (the hypothesis, "</s>"
last when it finished) on the y axis; cell (t, s) is the weight target token t gave source
token s. Default output: ATTN.<8-digit index>.png beside the file.

The attention file (HDF5): root attributes format = "s2s-attention", version = 1, count (the
number of sentences); a group per input sentence named by its 0-based index in 8 digits
("/00000000") with the datasets weights (float32 [target_len, source_len]), source and target
(variable-length UTF-8 strings: the tokens) and the attribute score (double).

Needs h5py and numpy (and matplotlib to plot). When the python running this script lacks them,
it runs itself again with $PYTHON, /usr/bin/python3 or python3 on PATH, whichever imports them
(Debian's python3-h5py and python3-matplotlib install for /usr/bin/python3; scripts/deps.sh
--python installs them), and otherwise stops naming the missing modules. Exit status: 0, 1 on
an error, 2 on bad usage.
"""
import argparse
import math
import os
import sys

PROG = "plot_attention.py"
FORMAT = "s2s-attention"
VERSION = 1


sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import s2s_pyutil  # noqa: E402  (beside this script)


def die(msg):
    s2s_pyutil.die(PROG, msg)


def require_modules(names):
    s2s_pyutil.require_modules(PROG, names, __file__)


# ---- reading --------------------------------------------------------------------------------

def text(v):
    """An attribute or string element as str (h5py gives bytes or str depending on its version
    and how the string was written)."""
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if hasattr(v, "item") and not isinstance(v, str):  # a numpy scalar or 1-element array
        try:
            return text(v.item())
        except ValueError:
            pass
    return str(v)


def integer(v):
    try:
        n = v.item() if hasattr(v, "item") else v
    except ValueError:
        return None
    if isinstance(n, bool) or not isinstance(n, int):
        return None
    return n


def open_file(path):
    """The open h5py file and its sentence count, after checking the root attributes."""
    import h5py
    if not os.path.exists(path):
        die(f"{path}: no such file")
    if os.path.isdir(path):
        die(f"{path}: is a directory, not an attention file")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        try:
            with open(path, "rb") as fh:
                sig = fh.read(8)
        except OSError:
            sig = b""
        if sig != b"\x89HDF\r\n\x1a\n":
            die(f"{path}: not an HDF5 file, so not an attention file of s2s translate "
                f"--attention")
        die(f"{path}: cannot open as HDF5 (truncated or damaged?): {e}")
    if "format" not in f.attrs:
        die(f"{path}: not an s2s attention file: no 'format' attribute (expected "
            f"format = \"{FORMAT}\")")
    fmt = text(f.attrs["format"])
    if fmt != FORMAT:
        hint = " (a checkpoint, parameter file or dataset: see s2s info)" \
            if fmt.startswith("s2s-") else ""
        die(f"{path}: not an s2s attention file: format attribute '{fmt}', expected "
            f"'{FORMAT}'{hint}")
    version = integer(f.attrs.get("version"))
    if version != VERSION:
        die(f"{path}: attention file version {f.attrs.get('version')!r}, this script reads "
            f"version {VERSION}")
    count = integer(f.attrs.get("count"))
    if count is None or count < 0:
        die(f"{path}: no integer attribute 'count' (the number of sentences)")
    return f, count


def read_sentence(f, path, i):
    """(source tokens, target tokens, weights [T, S] as float64, score) of sentence i."""
    import numpy as np
    name = f"{i:08d}"
    if name not in f:
        die(f"{path}: no group /{name} for sentence {i} (the file says count = "
            f"{f.attrs.get('count')})")
    g = f[name]
    for d in ("weights", "source", "target"):
        if d not in g:
            die(f"{path}: /{name} has no dataset '{d}'")
    try:
        weights = np.asarray(g["weights"][()], dtype=np.float64)
        source = [text(t) for t in np.atleast_1d(g["source"][()])]
        target = [text(t) for t in np.atleast_1d(g["target"][()])]
    except (OSError, ValueError, TypeError) as e:
        die(f"{path}: /{name}: cannot read: {e}")
    if weights.ndim != 2:
        die(f"{path}: /{name}/weights has shape {list(weights.shape)}, expected "
            f"[target_len, source_len]")
    if weights.shape != (len(target), len(source)):
        die(f"{path}: /{name}/weights has shape {list(weights.shape)}, but there are "
            f"{len(target)} target and {len(source)} source tokens")
    score = g.attrs.get("score")
    try:
        score = float(score) if score is not None else math.nan
    except (TypeError, ValueError):
        score = math.nan
    return source, target, weights, score


# ---- commands -------------------------------------------------------------------------------

def list_sentences(f, path, count):
    print(f"{path}: {count} sentence{'s' if count != 1 else ''}")
    print(f"{'index':>8} {'src len':>8} {'tgt len':>8} {'score':>10}  source -> target")
    for i in range(count):
        source, target, _, score = read_sentence(f, path, i)
        line = f"{' '.join(source)} -> {' '.join(target)}"
        if len(line) > 100:
            line = line[:97] + "..."
        print(f"{i:>8} {len(source):>8} {len(target):>8} {score:>10.4g}  {line}")


def plot(source, target, weights, title, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    S, T = len(source), len(target)
    # About a third of an inch per token, within limits; long sentences get smaller labels.
    width = min(max(4.0, 0.32 * S + 2.5), 40.0)
    height = min(max(3.0, 0.32 * T + 2.0), 40.0)
    fontsize = 9 if max(S, T) <= 40 else 7 if max(S, T) <= 80 else 5
    fig, ax = plt.subplots(figsize=(width, height))
    im = ax.imshow(np.ma.masked_invalid(weights), aspect="auto", cmap="viridis",
                   interpolation="nearest", vmin=0.0, vmax=max(1e-12, float(np.nanmax(weights))
                                                                 if np.isfinite(weights).any()
                                                                 else 1.0))
    ax.set_xticks(range(S))
    ax.set_xticklabels(source, rotation=90, fontsize=fontsize)
    ax.set_yticks(range(T))
    ax.set_yticklabels(target, fontsize=fontsize)
    ax.set_xlabel("source")
    ax.set_ylabel("target")
    ax.xaxis.set_ticks_position("top")
    ax.xaxis.set_label_position("top")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="attention weight")
    ax.set_title(title, fontsize=9, pad=12)
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
    ap.add_argument("attention", metavar="ATTN.h5",
                    help="the attention file of s2s translate --attention")
    ap.add_argument("--sentence", type=int, default=0, metavar="I",
                    help="the sentence to plot, its 0-based index in the input (default 0)")
    ap.add_argument("--list", action="store_true",
                    help="print the sentences with their lengths and scores instead of plotting")
    ap.add_argument("-o", "--out", metavar="OUT.png",
                    help="the PNG to write (default: ATTN.<index>.png beside the file)")
    args = ap.parse_args()

    path = args.attention
    if not os.path.exists(path):
        die(f"{path}: no such file")
    require_modules(("h5py", "numpy") if args.list else ("h5py", "numpy", "matplotlib"))
    f, count = open_file(path)
    with f:
        if args.list:
            list_sentences(f, path, count)
            return
        i = args.sentence
        if not 0 <= i < count:
            die(f"{path}: no sentence {i}: the file holds {count} sentence"
                f"{'s' if count != 1 else ''}" + (f" (0 to {count - 1})" if count else ""))
        source, target, weights, score = read_sentence(f, path, i)
    if not source or not target:
        die(f"{path}: sentence {i} has {len(source)} source and {len(target)} target tokens: "
            f"nothing to plot")
    stem = path[:-3] if path.endswith(".h5") else path
    out = args.out or f"{stem}.{i:08d}.png"
    title = f"{os.path.basename(path)}, sentence {i}: score {score:.4g}"
    plot(source, target, weights, title, out)
    print(f"{PROG}: wrote {out}: sentence {i}, {len(source)} source x {len(target)} target "
          f"tokens, score {score:.4g}")


if __name__ == "__main__":
    main()
