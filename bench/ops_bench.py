"""Forward + backward cost of each primitive on small arrays, and PyTorch's when it is installed.

On small arrays the cost is the engine's overhead (wrapping, graph, VJP
closures), not the arithmetic: the number a training loop on a small model
pays for every op.

    python bench/ops_bench.py              # 8 x 8 float64
    python bench/ops_bench.py --size 64

``measure()`` returns the rows, for ``bench/run.py`` to import.
"""

from __future__ import annotations

import argparse
import statistics
import timeit
from collections.abc import Callable
from typing import Any

import numpy as np

from descend import Tensor, ops

try:
    import torch
except ImportError:  # the PyTorch columns stay empty
    torch = None

Op = Callable[..., Any]

# name: (kinds of the size x size float64 inputs, descend's op, PyTorch's op)
CASES: dict[str, tuple[tuple[str, ...], Op, Op]] = {
    "add": (("any", "any"), lambda a, b: a + b, lambda a, b: a + b),
    "subtract": (("any", "any"), lambda a, b: a - b, lambda a, b: a - b),
    "multiply": (("any", "any"), lambda a, b: a * b, lambda a, b: a * b),
    "divide": (("any", "positive"), lambda a, b: a / b, lambda a, b: a / b),
    "power": (("positive",), lambda a: a**2, lambda a: a**2),
    "negative": (("any",), lambda a: -a, lambda a: -a),
    "matmul": (("any", "any"), lambda a, b: a @ b, lambda a, b: a @ b),
    "linear": (("any", "any", "vector"), ops.linear, lambda x, w, b: torch.addmm(b, x, w)),
    "exp": (("any",), ops.exp, lambda a: a.exp()),
    "log": (("positive",), ops.log, lambda a: a.log()),
    "log1p": (("positive",), ops.log1p, lambda a: a.log1p()),
    "sqrt": (("positive",), ops.sqrt, lambda a: a.sqrt()),
    "abs": (("any",), ops.abs, lambda a: a.abs()),
    "tanh": (("any",), ops.tanh, lambda a: a.tanh()),
    "sigmoid": (("any",), ops.sigmoid, lambda a: a.sigmoid()),
    "relu": (("any",), ops.relu, lambda a: a.relu()),
    "clip": (("any",), lambda a: ops.clip(a, -0.5, 0.5), lambda a: a.clamp(-0.5, 0.5)),
    "maximum": (("any", "any"), ops.maximum, lambda a, b: torch.maximum(a, b)),
    "minimum": (("any", "any"), ops.minimum, lambda a, b: torch.minimum(a, b)),
    "where": (("mask", "any", "any"), ops.where, lambda m, a, b: torch.where(m, a, b)),
    "log_softmax": (("any",), ops.log_softmax, lambda a: a.log_softmax(-1)),
    "softmax_cross_entropy": (
        ("any", "rows"),
        ops.softmax_cross_entropy,
        lambda a, labels: torch.nn.functional.cross_entropy(a, labels, reduction="none"),
    ),
    "sum": (("any",), lambda a: a.sum(), lambda a: a.sum()),
    "mean": (("any",), lambda a: a.mean(), lambda a: a.mean()),
    "max": (("any",), lambda a: a.max(), lambda a: a.max()),
    "min": (("any",), lambda a: a.min(), lambda a: a.min()),
    "reshape": (("any",), lambda a: a.reshape(-1), lambda a: a.reshape(-1)),
    "transpose": (("any",), lambda a: a.T, lambda a: a.T),
    "getitem": (("any", "rows"), lambda a, i: a[i], lambda a, i: a[i]),
    "concatenate": (
        ("any", "any"),
        lambda a, b: ops.concatenate(a, b, axis=0),
        lambda a, b: torch.cat([a, b], 0),
    ),
}


def make_input(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """One input: a float64 matrix or vector, or a mask or row indices (which get no gradient)."""
    if kind == "positive":
        return rng.uniform(0.5, 2.0, size=(size, size))
    if kind == "mask":
        return rng.random((size, size)) < 0.5
    if kind == "vector":
        return rng.standard_normal(size)
    if kind == "rows":
        return rng.integers(0, size, size=size)  # with repeats, as in a batch of rows
    return rng.standard_normal((size, size))


def time_steps(steps: list[Callable[[], None]], repeat: int, budget: float) -> list[float]:
    """Median microseconds per call of each step, over ``repeat`` runs of about ``budget`` s.

    The steps take turns (A B A B ...), so a noisy neighbour slows them alike.
    """
    numbers = []
    for step in steps:
        warmup = timeit.repeat(step, number=1, repeat=5)  # the first calls pay for lazy set-up
        numbers.append(max(1, int(budget / max(min(warmup), 1e-7))))
    runs: list[list[float]] = [[] for _ in steps]
    for _ in range(repeat):
        for step, number, times in zip(steps, numbers, runs):
            times.append(timeit.timeit(step, number=number) / number)
    return [statistics.median(times) * 1e6 for times in runs]


def descend_step(fn: Op, arrays: list[np.ndarray]) -> Callable[[], None]:
    inputs = [Tensor(a, requires_grad=True) if a.dtype == np.float64 else a for a in arrays]
    leaves = [t for t in inputs if isinstance(t, Tensor)]
    seed = np.ones(fn(*inputs).shape)

    def step() -> None:
        for leaf in leaves:
            leaf.grad = None
        fn(*inputs).backward(seed)

    return step


def torch_step(fn: Op, arrays: list[np.ndarray]) -> Callable[[], None]:
    inputs = [
        torch.tensor(a, requires_grad=True) if a.dtype == np.float64 else torch.from_numpy(a)
        for a in arrays
    ]
    leaves = [t for t in inputs if t.requires_grad]
    seed = torch.ones_like(fn(*inputs))

    def step() -> None:
        for leaf in leaves:
            leaf.grad = None
        fn(*inputs).backward(seed)

    return step


def measure(size: int = 8, repeat: int = 5, budget: float = 0.02) -> list[dict[str, Any]]:
    """One row per primitive: forward + backward microseconds in descend and in PyTorch.

    >>> rows = measure(size=4, repeat=1, budget=0.001)
    >>> rows[0]["op"], rows[0]["descend_us"] > 0
    ('add', True)
    """
    rng = np.random.default_rng(0)
    rows = []
    for name, (kinds, descend_fn, torch_fn) in CASES.items():
        arrays = [make_input(kind, size, rng) for kind in kinds]
        steps = [descend_step(descend_fn, arrays)]
        if torch is not None:
            steps.append(torch_step(torch_fn, arrays))
        ours, *rest = time_steps(steps, repeat, budget)
        theirs = rest[0] if rest else None
        rows.append(
            {
                "op": name,
                "size": size,
                "descend_us": ours,
                "torch_us": theirs,
                "ratio": None if theirs is None else ours / theirs,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=8, help="inputs are size x size (default 8)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per op (default 5)")
    args = parser.parse_args(argv)

    rows = measure(size=args.size, repeat=args.repeat)
    print(f"forward + backward, {args.size} x {args.size} float64, median of {args.repeat} runs")
    print(f"{'op':<22} {'descend µs':>11} {'torch µs':>9} {'ratio':>6}")
    for row in rows:
        theirs = "-" if row["torch_us"] is None else f"{row['torch_us']:9.1f}"
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:6.2f}"
        print(f"{row['op']:<22} {row['descend_us']:11.1f} {theirs:>9} {ratio:>6}")
    if torch is None:
        print("PyTorch is not installed: its columns are empty (pip install torch to compare).")
    else:
        print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads.")
    missing = sorted(set(ops.PRIMITIVES) - set(CASES))
    if missing:
        print(f"Not benchmarked (no case in CASES): {', '.join(missing)}.")


if __name__ == "__main__":
    main()
