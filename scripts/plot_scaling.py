#!/usr/bin/env python3
"""plot_scaling.py - the tables and plot of scripts/scaling.sh.

    plot_scaling.py csv RAW_DIR OUT.csv   # the bench JSON lines of RAW_DIR -> one CSV row per
                                          # (mode, ranks, threads); standard library only
    plot_scaling.py plot IN.csv OUT.png   # speedup and efficiency against ideal (matplotlib)

Several runs of one point: the row is the run with the median throughput, and
tokens_per_s_spread is (max - min) / median over the runs. Speedup is relative to the smallest
rank count p0 measured in the same mode and thread count: p0 * tokens/s(p) / tokens/s(p0) (with
p0 = 1, the usual ratio); efficiency is speedup / p. In weak scaling the global batch grows with
the ranks, in strong scaling it is fixed, so in both throughput is the measure of speed.
"""
import csv
import glob
import json
import os
import re
import sys

COLUMNS = ["mode", "ranks", "threads", "local_batch", "global_batch", "runs", "tokens_per_s",
           "tokens_per_s_spread", "step_ms", "compute_ms", "exposed_comm_ms", "imbalance_ms",
           "wait_ms_mean", "wait_ms_max", "optimizer_ms", "other_ms", "allreduce_ms",
           "overlap_window_ms", "hidden_share", "buckets", "speedup", "efficiency", "mfu"]


def load(raw_dir):
    points = {}
    for path in sorted(glob.glob(os.path.join(raw_dir, "*.json"))):
        m = re.match(r"(weak|strong)_r(\d+)_t(\d+)_(\d+)\.json$", os.path.basename(path))
        if not m:
            continue
        with open(path) as f:
            r = json.loads(f.read())
        points.setdefault((m.group(1), int(m.group(2)), int(m.group(3))), []).append(r)
    if not points:
        sys.exit(f"plot_scaling.py: no benchmark results (*.json) in {raw_dir}")
    return points


def write_csv(raw_dir, out):
    points = load(raw_dir)
    rows = []
    for (mode, ranks, threads), runs in sorted(points.items()):
        runs.sort(key=lambda r: r["tokens_per_s"])
        r = runs[(len(runs) - 1) // 2]
        tps = [x["tokens_per_s"] for x in runs]
        wait = r.get("wait_ms_mean", 0.0)
        rows.append({
            "mode": mode, "ranks": ranks, "threads": threads,
            "local_batch": r.get("local_batch", r["batch"]),
            "global_batch": r.get("global_batch", r["batch"]), "runs": len(runs),
            "tokens_per_s": r["tokens_per_s"],
            "tokens_per_s_spread": (max(tps) - min(tps)) / r["tokens_per_s"],
            "step_ms": r["step_ms"], "compute_ms": r.get("compute_ms", r["forward_backward_ms"]),
            "exposed_comm_ms": r.get("exposed_comm_ms", 0.0),
            "imbalance_ms": r.get("imbalance_ms", 0.0), "wait_ms_mean": wait,
            "wait_ms_max": r.get("wait_ms_max", 0.0), "optimizer_ms": r["optimizer_ms"],
            "other_ms": r["step_ms"] - r.get("compute_ms", r["forward_backward_ms"]) - wait
                        - r["optimizer_ms"],
            "allreduce_ms": r.get("allreduce_ms", 0.0),
            "overlap_window_ms": r.get("overlap_window_ms", 0.0),
            "hidden_share": r.get("hidden_share", 0.0), "buckets": r.get("buckets", 0),
            "mfu": r["mfu"]})
    for row in rows:
        base = min((x for x in rows if x["mode"] == row["mode"] and
                    x["threads"] == row["threads"]), key=lambda x: x["ranks"])
        row["speedup"] = base["ranks"] * row["tokens_per_s"] / base["tokens_per_s"]
        row["efficiency"] = row["speedup"] / row["ranks"]
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for row in rows:
            w.writerow({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in row.items()})
    for row in rows:
        print(f"{row['mode']:6s} {row['ranks']:3d} ranks x {row['threads']} threads: "
              f"{row['tokens_per_s']:10.1f} tokens/s (spread {100 * row['tokens_per_s_spread']:.1f}%), "
              f"step {row['step_ms']:.1f} ms = compute {row['compute_ms']:.1f} + wait "
              f"{row['wait_ms_mean']:.1f} (exposed comm {row['exposed_comm_ms']:.1f}, imbalance "
              f"{row['imbalance_ms']:.1f}) + optimizer {row['optimizer_ms']:.1f}; speedup "
              f"{row['speedup']:.2f}, efficiency {row['efficiency']:.3f}, hidden "
              f"{100 * row['hidden_share']:.0f}%")


def plot(csv_path, png):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    fig, (ax_s, ax_e) = plt.subplots(1, 2, figsize=(11, 4.2))
    top = 1
    for (mode, threads) in sorted({(r["mode"], r["threads"]) for r in rows}):
        sel = sorted((r for r in rows if r["mode"] == mode and r["threads"] == threads),
                     key=lambda r: int(r["ranks"]))
        p = [int(r["ranks"]) for r in sel]
        top = max(top, max(p))
        label = f"{mode} ({threads} thread{'s' if threads != '1' else ''}/rank)"
        ax_s.plot(p, [float(r["speedup"]) for r in sel], "o-", label=label)
        ax_e.plot(p, [float(r["efficiency"]) for r in sel], "o-", label=label)
    ax_s.plot([1, top], [1, top], "k--", lw=1, label="ideal")
    ax_e.axhline(1.0, color="k", ls="--", lw=1, label="ideal")
    ax_e.axhline(0.95, color="gray", ls=":", lw=1, label="0.95")
    ax_s.set(xlabel="MPI ranks", ylabel="speedup (throughput ratio)", title="Speedup")
    ax_e.set(xlabel="MPI ranks", ylabel="efficiency = speedup / ranks", title="Efficiency",
             ylim=(0, 1.1))
    for ax in (ax_s, ax_e):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        ax.set_xticks(sorted({int(r["ranks"]) for r in rows}))
    fig.suptitle("s2s data-parallel scaling: " + os.path.dirname(os.path.abspath(csv_path)),
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(png, dpi=120)


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("csv", "plot"):
        sys.exit(__doc__)
    if sys.argv[1] == "csv":
        write_csv(sys.argv[2], sys.argv[3])
    else:
        plot(sys.argv[2], sys.argv[3])


if __name__ == "__main__":
    main()
