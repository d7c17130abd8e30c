"""The words of a diagnosis: numbers a person would type, and the phrases every explanation
starts from.

>>> nice(0.123456), round_down(0.5371), round_up(684.2)
(0.12, 0.53, 690)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .evidence import ZIGZAG
from .optimum import percent


# ----- numbers a person would type ------------------------------------------------------
def nice(x: float) -> float:
    """Round to two significant digits, for a learning rate or epoch count a person would type."""
    return float(f"{x:.2g}") if x > 0 and math.isfinite(x) else x


def round_down(x: float) -> float:
    """x rounded down to two significant digits (float noise aside): 0.5371 -> 0.53."""
    unit = 10 ** (math.floor(math.log10(x)) - 1)
    return float(f"{math.floor(x / unit + 1e-6) * unit:.2g}")  # 0.4999999997 -> 0.5, not 0.49


def round_up(x: float) -> int:
    """x rounded up to two significant digits: 684.2 -> 690."""
    unit = 10 ** max(len(str(math.ceil(x))) - 2, 0)
    return math.ceil(x / unit) * unit


def capital(text: str) -> str:
    return text[0].upper() + text[1:]


# ----- the phrases every explanation starts from -----------------------------------------
@dataclass
class Phrases:
    """Pieces of text shared by the explanations of every verdict."""

    fell: str  # "The loss went from 2.3 to 0.1 in 40 epochs (4.3% of where it started)"
    last: str  # "over the last 8 epochs"
    moves: str  # "the update cosine averaged +1.00 (each step went the same way ...)"
    recovered: str  # " after 1 divergence recovery (analysed from epoch 4)", or ""

    @classmethod
    def of(cls, e: dict[str, Any]) -> Phrases:
        epochs = e["epochs"]
        first, last = f"{e['initial_loss']:.4g}", f"{e['final_loss']:.4g}"
        if e.get("analysed_from_epoch"):  # the loss before the last recovery is left out
            first += f" at epoch {e['analysed_from_epoch']}"
        if e.get("minibatch"):  # two different measures: say which is which
            first += " (an epoch's mean over its minibatches)"
            last += " (all the training rows, at the weights returned)"
        penalty = " (with its L2 penalty)" if e.get("alpha") else ""
        start = (
            f"The loss{penalty} went from {first} to {last} in {epochs} "
            f"epoch{'s' if epochs != 1 else ''}"
        )
        ratio = e["final_to_initial"]
        if not math.isfinite(ratio):
            fell = start
        elif ratio <= 1:
            fell = f"{start} ({percent(ratio)} of where it started)"
        else:
            fell = f"{start} ({ratio:.3g} times where it started)"
        cosine = e["update_cosine"]
        moves = ""
        if math.isfinite(cosine):
            moves = f"the update cosine averaged {cosine:+.2f}"
            if cosine < ZIGZAG:
                moves += " (each step reversed the one before)"
            elif cosine > 0.5:
                moves += " (each step went the same way as the one before)"
        n = e["recoveries"]
        recovered = (
            f" after {n} divergence recover{'y' if n == 1 else 'ies'}"
            f" (analysed from epoch {e['analysed_from_epoch']})"
            if n
            else ""
        )
        return cls(fell, f"over the last {e['window']} epochs", moves, recovered)
