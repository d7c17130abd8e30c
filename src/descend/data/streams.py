"""Row-block streams of tables: one NumPy block per Dask partition.

Memory holds one partition at a time; each block goes through the same
preprocessing and target encoding as a table in memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..errors import InputError
from .arrays import to_array
from .preprocess import Preprocessor
from .tables import _feature_list, _require, select_columns
from .targets import LabelEncoder


# ----- Dask -------------------------------------------------------------------------------
def iter_dask_blocks(
    data: Any,
    features: Sequence[Any] | None,
    target: Any,
    preprocessor: Preprocessor | None = None,
    label_encoder: LabelEncoder | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """NumPy (X_block, y_block) per Dask partition: ``iter_dask_blocks(ddf, ["a"], "y")``.

    ``data`` is a Dask DataFrame (``features`` and ``target`` are column names)
    or a 2-D Dask Array (they are column positions; ``features=None`` means all
    but the target). Partitions are computed one at a time, so memory holds one
    block. X goes through ``preprocessor`` if given, else ``to_array``; y through
    ``label_encoder`` if given, else ``to_array(..., ndim=1)``. ``target=None``
    yields y_block None.
    """
    _require("dask", "dask")
    for i, (x_part, y_part) in enumerate(_dask_parts(data, features, target)):
        try:
            X = preprocessor.transform(x_part) if preprocessor is not None else to_array(x_part)
            y = None
            if y_part is not None and label_encoder is not None:
                y = label_encoder.transform(y_part)
            elif y_part is not None:
                y = to_array(y_part, "y", ndim=1)
        except InputError as e:
            raise InputError(f"Partition {i}: {e}") from None
        yield X, y


def _dask_parts(data: Any, features: Any, target: Any) -> Iterator[tuple[Any, Any]]:
    """(features, target) of each partition of a Dask DataFrame or row block of a Dask Array."""
    if hasattr(data, "npartitions") and hasattr(data, "columns"):
        columns = [str(c) for c in data.columns]
        if target is not None:
            features, _ = select_columns(data, target, features)
        else:
            features = _feature_list(columns if features is None else features, columns)
        for i in range(data.npartitions):
            part = data.get_partition(i).compute()
            yield part[features], None if target is None else part[target]
    elif hasattr(data, "numblocks") and getattr(data, "ndim", 0) == 2:
        width = data.shape[1]
        positions = [j for j in range(width) if j != target] if features is None else features
        for j in [*positions, *([] if target is None else [target])]:
            if isinstance(j, bool) or not isinstance(j, (int, np.integer)) or not 0 <= j < width:
                raise InputError(
                    f"With a Dask Array, features and target are column positions in "
                    f"0..{width - 1}; got {j!r}."
                )
        rows = data.rechunk({1: -1})  # each block holds whole rows
        for i in range(rows.numblocks[0]):
            block = rows.blocks[i].compute()
            yield block[:, list(positions)], None if target is None else block[:, target]
    else:
        raise InputError(
            "iter_dask_blocks needs a Dask DataFrame or a 2-D Dask Array; got "
            f"{type(data).__name__}. For data in memory use batch_indices or row_blocks."
        )
