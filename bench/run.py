"""descend against the lesson's NumPy loop, PyTorch and scikit-learn: every workload of
the benchmark issue, as ratios measured side by side in one run.

    python bench/run.py                  # all seven workloads; writes BENCHMARKS.md
    python bench/run.py --only 1 4       # some of them (BENCHMARKS.md is left alone)
    python bench/run.py --quick          # tiny sizes: checks that everything runs

A ratio is descend's number over the rival's (time, or memory over the size of
X, or the growth exponent of time in N): lower is better, and each row names the
limit it must stay under. PyTorch and scikit-learn rows are skipped, with a
note, when those are not installed.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def workloads(quick: bool) -> dict[str, Callable[[], list[Any]]]:
    """Each workload at full size, or tiny for ``quick`` (imports wait for the thread limits)."""
    import linear
    import mlp
    import ops_bench
    import scale

    def per_op() -> list[Any]:
        from common import NO_TORCH, Row

        name = "4. Per-op overhead: forward + backward, 8 x 8 float64"
        size, repeat, budget = (3, 1, 1e-5) if quick else (8, 5, 0.02)
        rows = []
        for r in ops_bench.measure(size=size, repeat=repeat, budget=budget):
            ours = f"{r['descend_us']:.1f} µs"
            if r["torch_us"] is None:
                rows.append(Row(name, f"{r['op']} / PyTorch", ours, target="<= 1.0", note=NO_TORCH))
            else:
                theirs = f"{r['torch_us']:.1f} µs"
                rows.append(
                    Row(name, f"{r['op']} / PyTorch", ours, theirs, r["ratio"], 1.0, "<= 1.0")
                )
        return rows

    if quick:
        return {
            "1": lambda: linear.lesson(n=2_000, d=10, epochs=5, repeat=1),
            "2": lambda: mlp.small_mlp(n=256, epochs=1, repeat=1),
            "3": lambda: linear.time_to_accuracy(n=2_000, d=5, repeat=1, budget=0.2),
            "4": per_op,
            "5": lambda: linear.memory(n=20_000, d=10, epochs=1),
            "6": lambda: linear.scaling(sizes=(1_000, 2_000, 4_000), d=10, repeat=1),
            "7": lambda: scale.beyond_memory(quick=True),
        }
    return {
        "1": linear.lesson,
        "2": mlp.small_mlp,
        "3": linear.time_to_accuracy,
        "4": per_op,
        "5": linear.memory,
        "6": linear.scaling,
        "7": scale.beyond_memory,
    }


def verdict(holds: bool | None) -> str:
    return {True: "yes", False: "**NO**", None: "-"}[holds]


def table(rows: list[Any]) -> str:
    """The rows as a Markdown table, each workload named once."""
    lines = [
        "| workload | comparison | descend | rival | ratio | target | holds | note |",
        "|---|---|---:|---:|---:|---|:---:|---|",
    ]
    previous = None
    for r in rows:
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}"
        workload = "" if r.workload == previous else f"**{r.workload}**"
        previous = r.workload
        lines.append(
            f"| {workload} | {r.comparison} | {r.ours} | {r.theirs} | {ratio} | {r.target} "
            f"| {verdict(r.holds)} | {r.note} |"
        )
    return "\n".join(lines)


def summary(rows: list[Any]) -> str:
    judged = [r for r in rows if r.holds is not None]
    missed = [r for r in judged if not r.holds]
    skipped = [r for r in rows if r.target and r.ratio is None]
    text = f"{len(judged) - len(missed)} of {len(judged)} targets hold"
    if missed:
        text += "; missed: " + "; ".join(
            f"{r.workload.split(':')[0]} {r.comparison}" for r in missed
        )
    if skipped:
        text += f". {len(skipped)} rows skipped (rival not installed)"
    return text + "."


def report(rows: list[Any], machine: list[tuple[str, str]], seconds: float, command: str) -> str:
    """The generated part of BENCHMARKS.md: machine, table, summary, how to reproduce."""
    lines = [
        BEGIN,
        f"Measured by `{command}` (what `make bench` and `make bench-torch` run) in "
        f"{seconds:.0f} s on {time.strftime('%Y-%m-%d')}.",
        "",
        "| machine | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in machine),
        "",
        table(rows),
        "",
        f"**{summary(rows)}**",
        END,
    ]
    return "\n".join(lines)


def write(path: Path, generated: str) -> None:
    """Replace the generated part of ``path``, keeping what people wrote around it."""
    if path.exists() and BEGIN in (text := path.read_text()) and END in text:
        pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
        path.write_text(pattern.sub(lambda _: generated, text))
    else:
        path.write_text(f"# Benchmarks\n\n{generated}\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list("1234567"), help="workloads to run")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check it runs")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and PyTorch threads (1)")
    parser.add_argument(
        "--output",
        type=Path,
        help="where to write the table (default: BENCHMARKS.md for a full run)",
    )
    args = parser.parse_args(argv)
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(args.threads)  # before NumPy loads its BLAS
    sys.path.insert(0, str(Path(__file__).parent))
    from common import limit_threads, machine

    limit_threads(args.threads)
    chosen = args.only or list("1234567")
    started = time.perf_counter()
    results: dict[str, list[Any]] = {}
    runs = workloads(args.quick)
    # the memory workload goes last: for a while after its child frees 1.6 GB, this
    # machine runs small-block code measurably slower (seen on workload 6 at N = 10^4)
    for key in sorted(chosen, key=lambda k: k in "57"):
        began = time.perf_counter()
        results[key] = runs[key]()
        print(f"workload {key}: {time.perf_counter() - began:.1f} s", file=sys.stderr)
    rows = [row for key in sorted(results) for row in results[key]]
    elapsed = time.perf_counter() - started
    print(table(rows))
    print()
    print(summary(rows))
    output = args.output
    if output is None and not args.quick and args.only is None:
        output = ROOT / "BENCHMARKS.md"
    if output is not None:
        command = "python bench/run.py" + (
            f" --threads {args.threads}" if args.threads != 1 else ""
        )
        write(output, report(rows, machine(args.threads), elapsed, command))
        print(f"Wrote {output}.")


if __name__ == "__main__":
    main()
