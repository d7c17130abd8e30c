"""Tables the command-line tests train on, written once per test module (pandas, and pyarrow
for the Parquet file, or the tests that use them are skipped)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A regression CSV, a binary Parquet file and a multiclass CSV (string labels)."""
    pytest.importorskip("pyarrow")
    from tests.cli.commands import patients

    folder = tmp_path_factory.mktemp("tables")
    df = patients()
    paths = {
        "regression": str(folder / "inr.csv"),
        "binary": str(folder / "risk.parquet"),
        "multiclass": str(folder / "band.csv"),
    }
    df.drop(columns=["risk", "band"]).to_csv(paths["regression"], index=False)
    df.drop(columns=["inr", "band"]).to_parquet(paths["binary"])
    df.drop(columns=["inr", "risk"]).to_csv(paths["multiclass"], index=False)
    return paths


@pytest.fixture
def binary_csv(tmp_path):
    from tests.cli.commands import DATA, pd

    df = pd.read_csv(DATA)
    df["risk"] = np.where(df.pop("inr") > 2.5, "high", "normal")
    path = tmp_path / "risk.csv"
    df.to_csv(path, index=False)
    return str(path)
