"""Tables in and arrays out; this layer knows nothing of models.

``tables``: read CSV, Parquet and DataFrames, choose columns. ``preprocess``:
the Preprocessor and the table checks, saved with the model. ``targets``: the
target checked and encoded once (task inference, class labels). ``arrays``:
checked arrays, the validation split, batches and row blocks. ``streams``:
row-block streams of tables (Dask partitions). ``running``: preprocessing and
target statistics accumulated over row blocks (data read in blocks).
"""

from __future__ import annotations

from .arrays import (
    batch_indices,
    row_blocks,
    row_weights,
    to_array,
    to_targets,
    train_validation_split,
    validation_size,
)
from .preprocess import IMPUTE_STRATEGIES, DataWarning, Preprocessor, check_table
from .streams import iter_dask_blocks
from .tables import SUPPORTED_EXTENSIONS, read_table, select_columns
from .targets import (
    MAX_CLASSES,
    LabelEncoder,
    check_class_labels,
    check_target,
    check_target_size,
    holds_text,
    infer_task,
)

__all__ = [
    "DataWarning",
    "IMPUTE_STRATEGIES",
    "LabelEncoder",
    "MAX_CLASSES",
    "Preprocessor",
    "SUPPORTED_EXTENSIONS",
    "batch_indices",
    "check_class_labels",
    "check_table",
    "check_target",
    "check_target_size",
    "holds_text",
    "infer_task",
    "iter_dask_blocks",
    "read_table",
    "row_blocks",
    "row_weights",
    "select_columns",
    "to_array",
    "to_targets",
    "train_validation_split",
    "validation_size",
]
