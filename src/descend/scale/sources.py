"""Tables in files, read in row blocks with pyarrow: Parquet files, folders of them, CSV.

``TableFiles("big/*.parquet")`` names the files (a file, a folder, a glob or a
list), checks that they share their columns, and ``frames(columns)`` yields
them as pandas DataFrames of at most ``block_rows`` rows, each indexed by its
row number in the whole table (so an error names the row of the data). Memory
holds a block and pyarrow's read buffers, not the data: a Parquet row group is
read page by page (pyarrow's default reads a whole row group, and its default
row group is 1,048,576 rows), a CSV file in pieces of CSV_BYTES. Parquet
files are read by row group (``units``), in any order; a CSV file only from
its start, so it is one unit. ``Selection`` keeps
the training or the validation rows of a split that depends on the row number
only: the same rows every pass, whatever the blocks.

>>> import numpy as np
>>> Selection(0.5, seed=0, validation=True).mask(0, 8).tolist()
[True, True, False, True, False, False, False, True]
"""

from __future__ import annotations

import glob
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data.tables import _names, _require
from ..errors import InputError

BLOCK_ROWS = 65_536
"""Rows per block read from a file, unless told otherwise."""

CSV_BYTES = 1 << 18
"""Bytes of a CSV file pyarrow parses at a time (a row must fit in them); its reader reads
up to 32 such pieces ahead of the one in use (8 MiB at most, whatever the size of the file;
pyarrow's 1 MiB pieces would make that 32 MiB, more than a block). No slower to parse."""

PARQUET_BUFFER = 1 << 16
"""Bytes pyarrow reads from a Parquet file at a time, for each column (not the whole row
group at once, as it does by default): a row group of any size is read page by page."""

KINDS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


def is_files(source: Any) -> bool:
    """True for what names table files: a path (str or PathLike), a list of them, or
    TableFiles."""
    if isinstance(source, (str, os.PathLike, TableFiles)):
        return True
    return (
        isinstance(source, (list, tuple))
        and bool(source)
        and all(isinstance(s, (str, os.PathLike)) for s in source)
    )


def expand(source: Any) -> list[str]:
    """The files a path, folder, glob or list of them names, sorted; InputError for none."""
    given = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    paths: list[str] = []
    for item in (str(os.fspath(g)) for g in given):
        if os.path.isdir(item):
            found = sorted(p for p in glob.glob(os.path.join(item, "*")) if _kind(p))
        elif glob.has_magic(item):
            found = sorted(glob.glob(item))
        else:
            found = [item] if os.path.isfile(item) else []
        if not found:
            raise InputError(
                f"No table files at {item!r}: give a .parquet or .csv file, a folder of them "
                "or a pattern such as 'big/*.parquet'."
            )
        paths.extend(found)
    _one_kind(paths)
    return paths


def _one_kind(paths: list[str]) -> None:
    """InputError naming the odd ones out: files of no table kind, or of the rarer kinds."""
    kinds = Counter(_kind(p) for p in paths)
    if len(kinds) == 1 and None not in kinds:
        return
    if None in kinds:
        odd, beside = [p for p in paths if _kind(p) is None], ""
    else:
        common = kinds.most_common(1)[0][0]
        odd = [p for p in paths if _kind(p) != common]
        them = "it" if len(odd) == 1 else "them"
        beside = f" with the {kinds[common]} {common} file{'s' * (kinds[common] > 1)} beside {them}"
    raise InputError(
        f"Cannot read {_names(odd)}{beside}: give files of one kind, .parquet (or .pq) or "
        ".csv (move the others away, or name the files with a pattern such as 'big/*.parquet')."
    )


def _kind(path: str) -> str | None:
    return KINDS.get(Path(path).suffix.lower())


@dataclass(frozen=True)
class Selection:
    """The training rows (``validation=False``) or the validation rows of a split that holds
    out about ``fraction`` of the rows, chosen by a hash of each row's number and ``seed``."""

    fraction: float
    seed: int
    validation: bool

    def mask(self, start: int, n: int) -> np.ndarray:
        """True for the selected rows among rows start..start+n-1 (splitmix64 of the row
        number: its multiplications wrap around modulo 2**64 by design)."""
        with np.errstate(over="ignore"):
            return self._mask(start, n)

    def _mask(self, start: int, n: int) -> np.ndarray:
        z = np.arange(start, start + n, dtype=np.uint64) + np.uint64(self.seed) * np.uint64(
            0x9E3779B97F4A7C15
        )
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)  # splitmix64
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
        held = (z >> np.uint64(11)).astype(np.float64) / 2.0**53 < self.fraction
        return held if self.validation else ~held


class TableFiles:
    """Parquet or CSV files read in row blocks (see the module)."""

    def __init__(
        self, source: Any, block_rows: int | None = None, columns: Sequence[str] | None = None
    ) -> None:
        self.pa = _require("pyarrow")
        self.paths = expand(source)
        self.kind = _kind(self.paths[0])
        self.block_rows = int(block_rows or BLOCK_ROWS)
        self.names = self._columns(self.paths[0])
        if columns is not None:  # only these columns are offered
            self.check_columns(columns)
            self.names = list(columns)
        self.shown = self.paths[0] if len(self.paths) == 1 else f"{len(self.paths)} files"
        self.unit_rows: list[int] | None = None  # rows of each unit, where the files say
        self._checked = {0}  # files whose columns are known to be the first file's
        if self.kind == "parquet":
            self.units = [(f, g) for f, p in enumerate(self.paths) for g in range(self._groups(p))]
            self.unit_rows = [
                self._meta(self.paths[f]).row_group(g).num_rows for f, g in self.units
            ]
        else:
            self.units = [(f, -1) for f in range(len(self.paths))]

    @property
    def n_rows(self) -> int | None:
        return None if self.unit_rows is None else sum(self.unit_rows)

    def _meta(self, path: str) -> Any:
        import pyarrow.parquet as pq

        return self._reading(path, lambda: pq.ParquetFile(path).metadata)

    def _groups(self, path: str) -> int:
        return int(self._meta(path).num_row_groups)

    def _columns(self, path: str) -> list[str]:
        if self.kind == "parquet":
            return [str(n) for n in self._meta(path).schema.to_arrow_schema().names]
        return [str(n) for n in self._reading(path, lambda: self._csv(path, None).schema.names)]

    def _reading(self, path: str, read: Any) -> Any:
        """``read()``, with pyarrow's errors as one line naming the file."""
        try:
            return read()
        except InputError:
            raise
        except (OSError, self.pa.ArrowException) as error:
            kind = "Parquet" if self.kind == "parquet" else "CSV"
            reason = " ".join(str(error).split()).rstrip(".")
            raise InputError(
                f"Cannot read {path!r} as {kind}: {reason}. Check that it is a valid {kind} file."
            ) from None

    def _csv(self, path: str, columns: Sequence[str] | None) -> Any:
        from pyarrow import csv

        read = csv.ReadOptions(block_size=CSV_BYTES)
        reader = csv.open_csv(path, read_options=read)
        if columns is None:
            return reader
        # whole numbers in the first block may meet decimals later: read numbers as float64
        types = {
            f.name: self.pa.float64()
            for f in reader.schema
            if self.pa.types.is_integer(f.type) or self.pa.types.is_null(f.type)
        }
        convert = csv.ConvertOptions(include_columns=list(columns), column_types=types)
        return csv.open_csv(path, read_options=read, convert_options=convert)

    def check_columns(self, columns: Sequence[str]) -> None:
        missing = [c for c in columns if c not in self.names]
        if missing:
            raise InputError(
                f"{self.shown} has no column {_names(missing)}. Available columns: "
                f"{_names(self.names)}."
            )

    def frames(
        self, columns: Sequence[str], units: Sequence[int] | None = None, selection: Any = None
    ) -> Iterator[Any]:
        """DataFrames of ``columns`` of at most block_rows rows, indexed by row number: the
        units in the order given (default: all, in order), the selected rows only."""
        order = range(len(self.units)) if units is None else units
        starts = None if self.unit_rows is None else np.cumsum([0, *self.unit_rows])
        start = 0
        for u in order:
            start = start if starts is None else int(starts[u])
            for batch in self._batches(u, columns):
                frame = batch.to_pandas()
                frame.index = range(start, start + len(frame))
                start += len(frame)
                if selection is not None:
                    frame = frame[selection.mask(int(frame.index[0]), len(frame))]
                if len(frame):
                    yield frame

    def _batches(self, unit: int, columns: Sequence[str]) -> Iterator[Any]:
        f, group = self.units[unit]
        path = self.paths[f]
        if f not in self._checked:
            found = self._columns(path)
            lacking = [n for n in self.names if n not in found]
            if lacking:
                raise InputError(
                    f"{path!r} has no column {_names(lacking)}, which {self.paths[0]!r} has; "
                    "every file needs the same columns."
                )
            self._checked.add(f)
        if self.kind == "parquet":
            import pyarrow.parquet as pq

            batches = self._reading(
                path,
                lambda: pq.ParquetFile(
                    path, pre_buffer=False, buffer_size=PARQUET_BUFFER
                ).iter_batches(self.block_rows, row_groups=[group], columns=list(columns)),
            )
        else:
            batches = self._gathered(iter(self._reading(path, lambda: self._csv(path, columns))))
        while True:
            batch = self._reading(path, lambda: next(batches, None))
            if batch is None:
                return
            yield batch

    def _gathered(self, batches: Iterator[Any]) -> Iterator[Any]:
        """pyarrow's record batches (of CSV_BYTES of a CSV file) as tables of block_rows rows
        (the last may have fewer)."""
        held: list[Any] = []
        count = 0
        for batch in batches:
            held.append(batch)
            count += batch.num_rows
            while count >= self.block_rows:
                table = self.pa.Table.from_batches(held)
                yield table.slice(0, self.block_rows)
                rest = table.slice(self.block_rows)
                held, count = rest.to_batches(), rest.num_rows
                table = rest = None  # hold no more than the rows not yet given
        if count:
            yield self.pa.Table.from_batches(held)
