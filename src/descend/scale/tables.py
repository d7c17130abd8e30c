"""Tables beyond memory for the estimators: table files or Dask partitions, fitted in blocks.

``open_table(X, y)`` takes what an estimator's ``fit`` was given (a path, folder
or glob of table files and the target's column name; a Dask DataFrame or
Array and its Dask target, or the target's column name) and offers the two
passes the estimators need: ``statistics`` fits the preprocessing and reads
the target's values in one pass over the training rows (blocks read in turn
from files; Dask partitions on their workers, the statistics merged in a
tree), and ``rows`` gives the training and validation rows as ``FileBlocks``
or ``DaskBlocks`` that turn each block into arrays with the fitted ``prepare``.
The validation rows are chosen by row number (``sources.Selection``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..data.preprocess import Preprocessor
from ..data.running import PreprocessorStats, TargetStats
from ..errors import InputError
from .dask import TARGET, DaskBlocks, is_dask, partitions, tree, with_target
from .sources import Selection, is_files
from .stream import FileBlocks

Prepare = Callable[[Any, Any], tuple[Any, Any]]
"""(features of a block, its target) -> (X rows, y rows) as the model learns them."""


def in_blocks(X: Any) -> bool:
    """True for data an estimator reads in blocks: table files or Dask collections."""
    return is_files(X) or is_dask(X)


def open_table(
    X: Any, y: Any, validation: float | None, seed: int, block_size: int | None = None
) -> Any:
    """Table files (``y`` names the target column) or Dask data, ready for two passes."""
    if is_files(X):
        return FileTable(X, y, validation, seed, block_size)
    return DaskTable(X, y, validation, seed)


class FileTable:
    """Table files: the statistics in one pass over the blocks, in turn."""

    def __init__(
        self, X: Any, target: Any, validation: float | None, seed: int, block_size: int | None
    ) -> None:
        self.all = FileBlocks(X, target, block_size=block_size)
        self.features, self.target, self.from_table = self.all.features, target, True
        self.train, self.held = self.all, None
        if validation is not None:
            self.train, self.held = self.all.split(validation, seed)

    def statistics(self, pre: Preprocessor) -> tuple[Preprocessor, TargetStats]:
        stats, target = PreprocessorStats(pre, self.features), TargetStats(self.target)
        frames = self.all.table.frames(self.all.columns, selection=self.train.selection)
        for frame in frames:
            stats.update(frame[self.features])
            target.update(frame[self.target])
        self.train._rows = target.rows  # counted on the way
        return stats.fitted(), target

    def rows(self, prepare: Prepare) -> tuple[Any, Any]:
        features, target = self.features, self.target
        for part in (self.train, self.held):
            if part is not None:
                part.prepare = lambda frame: prepare(frame[features], frame[target])
        return self.train, self.held


def _block_statistics(
    x: Any, y: Any, offset: int, selection: Any, pre: Preprocessor, features: list[str], name: str
) -> tuple[PreprocessorStats, TargetStats]:
    """One task: the statistics of one partition's training rows."""
    frame = x.copy(deep=False) if hasattr(x, "columns") else _columns(x, features)
    target = y.copy(deep=False) if hasattr(y, "iloc") else _series(y, name)
    frame.index = target.index = range(offset, offset + len(frame))  # rows of the whole table
    if selection is not None:
        keep = np.flatnonzero(selection.mask(offset, len(frame)))
        frame, target = frame.iloc[keep], target.iloc[keep]
    stats, values = PreprocessorStats(pre, features), TargetStats(name)
    if len(frame):
        stats.update(frame)
        values.update(target)
    return stats, values


def _merged(a: Any, b: Any) -> Any:
    return a[0].merge(b[0]), a[1].merge(b[1])


def _columns(x: Any, names: list[str]) -> Any:
    import pandas as pd

    return pd.DataFrame(np.asarray(x), columns=names)


def _series(y: Any, name: str) -> Any:
    import pandas as pd

    return pd.Series(np.asarray(y), name=name)


class DaskTable:
    """Dask partitions, persisted once: the statistics of each on its worker, merged."""

    def __init__(self, X: Any, y: Any, validation: float | None, seed: int) -> None:
        import dask

        if isinstance(y, str) and hasattr(X, "columns"):
            X, y = X[[c for c in X.columns if c != y]], X[y]
        if hasattr(X, "columns"):  # read once, features and target in one frame
            both, name = with_target(X, y).persist(), y.name
            X, y = both.drop(columns=TARGET), both[TARGET].rename(name)
        else:  # arrays: their blocks match by position
            X, y = dask.persist(X, y)  # read once: the passes that follow read memory
        self.X, self.y, self.validation, self.seed = X, y, validation, seed
        self.from_table = hasattr(X, "columns")
        self.features = (
            [str(c) for c in X.columns] if self.from_table else [f"x{j}" for j in range(X.shape[1])]
        )
        self.target = str(getattr(y, "name", None) or "y")
        self.parts = partitions(X, y)

    def statistics(self, pre: Preprocessor) -> tuple[Preprocessor, TargetStats]:
        import dask

        lengths = dask.compute(*[dask.delayed(len)(x) for x, _ in self.parts])
        starts = np.cumsum([0, *lengths[:-1]]).tolist()
        selection = (
            None if self.validation is None else Selection(self.validation, self.seed, False)
        )
        tasks = [
            dask.delayed(_block_statistics)(x, t, s, selection, pre, self.features, self.target)
            for (x, t), s in zip(self.parts, starts)
        ]
        stats, target = dask.compute(tree(tasks, _merged))[0]
        if not target.rows:
            raise InputError("The Dask data has no rows; give it at least one.")
        return stats.fitted(), target

    def rows(self, prepare: Prepare) -> tuple[Any, Any]:
        features, name = self.features, self.target

        def named(x: Any, y: Any) -> tuple[Any, Any]:
            frame = x if hasattr(x, "columns") else _columns(x, features)
            return prepare(frame, y if hasattr(y, "iloc") else _series(y, name))

        rows = DaskBlocks(self.X, self.y, prepare=named)
        if self.validation is None:
            return rows, None
        return rows.split(self.validation, self.seed)
