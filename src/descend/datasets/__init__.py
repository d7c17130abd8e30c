"""Built-in data sets, shipped inside the package.

``patients``: the lesson's example, 200 made-up patients with age (years),
weight (kg) and creatinine (mg/dL), and their INR. The table was generated
once, deterministically (NumPy ``default_rng(83)``), from a stated true
relationship plus noise::

    inr = 0.5 + 0.015 * age + 0.004 * weight + 0.6 * creatinine + N(0, 0.15^2)

rounded to the shown decimals. It describes no real person; it is public
domain (CC0), like the rest of this folder.

>>> X, y, names = load_patients()
>>> X.shape, names
((200, 3), ['age', 'weight', 'creatinine'])
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import numpy as np

PATIENTS_TRUE_WEIGHTS = {"age": 0.015, "weight": 0.004, "creatinine": 0.6}
PATIENTS_TRUE_BIAS = 0.5
PATIENTS_NOISE_STD = 0.15


def patients_path() -> str:
    """The path of the shipped CSV file (columns age, weight, creatinine, inr)."""
    return str(resources.files(__name__).joinpath("patients.csv"))


def load_patients() -> tuple[Any, Any, list[str]]:
    """The lesson's patients as (X of shape (200, 3), INR of shape (200,), feature names)."""
    with open(patients_path(), encoding="utf-8") as f:
        header = f.readline().strip().split(",")
        table = np.loadtxt(f, delimiter=",", ndmin=2)
    return table[:, :-1], table[:, -1], header[:-1]
