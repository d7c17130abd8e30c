"""The model file's document as rules: every key of it, the architecture walked without
building it (``network``), and the table of weights checked against the archive's arrays."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields
from typing import Any

from .._validation import Interval, Options
from .._version import __version__
from ..data.preprocess import IMPUTE_STRATEGIES
from ..data.tables import _names
from ..engine.backend import xp
from ..learn import nn
from ..learn.history import PER_EPOCH, STOP_REASONS, History
from ..learn.optim import OPTIMIZERS
from ..models import CLASSIFIER_LOSSES, IMPLIED_TASK, MODELS, REGRESSION_LOSSES
from ..understand.diagnose import VERDICTS, Diagnosis, OptimisationGap
from .rules import (
    ANY_NUMBER,
    BOOL,
    COUNT,
    FINITE,
    LABEL,
    NULL,
    POSITIVE,
    RATE,
    SCALAR,
    SEED,
    SIZE,
    TEXT,
    Either,
    ListOf,
    MapOf,
    Record,
    Rule,
    SchemaError,
    Tagged,
    allowed,
    either,
    maybe,
    one_of,
    utf8,
)

FORMAT = "descend-model"
FORMAT_VERSIONS = (1,)
"""The model format versions this descend reads, exactly."""

TASKS = {"Regressor": "regression", "Classifier": "classification"}
"""The task of each estimator a model file may hold."""
MODEL_KINDS = {
    name: tuple(kind for kind in MODELS if IMPLIED_TASK.get(kind, task) == task)
    for name, task in TASKS.items()
}
"""The models of each estimator, as ``model_kind`` names them (descend.models' kinds)."""

DTYPES = ("float16", "float32", "float64")
"""Parameter dtypes; the arrays' own headers may give them in either byte order."""

MAX_DEPTH = 32
"""Sequential modules nest at most this deep."""
MAX_LAYERS = 100_000
"""A model file holds at most this many layers."""


# ----- the architecture: the built-in layers, walked without building them -------------------
def _layer(config: dict[str, Rule]) -> Record:
    return Record({"type": TEXT, "config": Record(config)})


_LAYER = Tagged(
    "type",
    {
        "Linear": _layer(
            {
                "in_features": SIZE,
                "out_features": SIZE,
                "bias": BOOL,
                "init": one_of(*nn.INITIALISERS),
                "seed": maybe(SEED),
                "dtype": one_of(*DTYPES),
            }
        ),
        "Sequential": _layer({"layers": ListOf(Rule("an object", lambda v: type(v) is dict))}),
        "MLP": _layer(
            {
                "sizes": ListOf(SIZE, 2, MAX_LAYERS),
                "activation": one_of(*nn.ACTIVATIONS),
                "dropout": allowed(Interval(float, 0, 1, "left")),
                "init": maybe(one_of(*nn.INITIALISERS)),
                "seed": maybe(SEED),
                "dtype": one_of(*DTYPES),
            }
        ),
        "ReLU": _layer({}),
        "Tanh": _layer({}),
        "Sigmoid": _layer({}),
        "GELU": _layer({}),
        "LeakyReLU": _layer({"negative_slope": FINITE}),
        "Softmax": _layer({"axis": allowed(Interval(int, -2, 1))}),  # of rows x columns
        "Dropout": _layer({"p": allowed(Interval(float, 0, 1, "left")), "seed": maybe(SEED)}),
    },
)
LAYERS = tuple(_LAYER.records)
"""The built-in layers: the only module types a model file may hold."""

Shape = tuple[int, ...]


@dataclass
class Network:
    """What an architecture needs, read from its config alone: each parameter's shape and
    dtype, and the width of its input and output (None: any width passes through)."""

    parameters: dict[str, tuple[Shape, str]] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)  # the keys each shape comes from
    inputs: int | None = None
    outputs: int | None = None
    input_key: str = ""
    output_key: str = ""


class Budget:
    """The weight arrays an architecture may still declare: no more than the archive holds,
    so that walking it (an MLP's sizes expanded into layers) costs no more than the file."""

    def __init__(self, arrays: int) -> None:
        self.arrays = self.left = arrays

    def take(self, count: int, key: str) -> None:
        if count > self.left:
            rule = f"within the {self.arrays:,} weight arrays in the archive"
            declared = self.arrays - self.left + count
            raise SchemaError(key, rule, f"{declared:,} arrays declared up to here")
        self.left -= count


def network(
    spec: Any, key: str = "architecture", depth: int = 0, budget: Budget | None = None
) -> Network:
    """The Network of a layer's ``to_config()``, or a SchemaError for the first bad key.
    ``budget``: the number of weight arrays it may declare (the archive's), checked before
    an MLP's layers are listed; None: any number."""
    if depth > MAX_DEPTH:
        raise SchemaError(key, f"nested at most {MAX_DEPTH} Sequentials deep", "deeper")
    _LAYER.check(spec, key)
    budget = budget or Budget(MAX_LAYERS * 2)
    kind, config = spec["type"], spec["config"]
    if kind == "Linear":
        n_in, n_out, dtype = config["in_features"], config["out_features"], config["dtype"]
        parameters: dict[str, tuple[Shape, str]] = {"weight": ((n_in, n_out), dtype)}
        if config["bias"]:
            parameters["bias"] = ((n_out,), dtype)
        at = f"{key}.config."
        budget.take(len(parameters), key)
        origins = dict.fromkeys(parameters, f"{at}in_features and out_features")
        return Network(parameters, origins, n_in, n_out, at + "in_features", at + "out_features")
    if kind == "MLP":
        at = f"{key}.config.sizes"
        arrays = 2 * (len(config["sizes"]) - 1)  # a weight and a bias per Linear
        budget.take(arrays, at)
        net = _chain(nn.mlp_layers(**config), at, depth, Budget(arrays))
        return Network(
            net.parameters, dict.fromkeys(net.parameters, at), net.inputs, net.outputs, at, at
        )
    if kind == "Sequential":
        return _chain(config["layers"], f"{key}.config.layers", depth, budget)
    return Network()  # an activation, Softmax or Dropout: no parameters, any width


def _chain(layers: list[Any], key: str, depth: int, budget: Budget) -> Network:
    """The Network of layers applied one after another: each one's input is the last output."""
    if len(layers) > MAX_LAYERS:
        raise SchemaError(key, f"a list of at most {MAX_LAYERS} layers", f"{len(layers)} layers")
    chain = Network()
    for i, layer in enumerate(layers):
        part = network(layer, f"{key}[{i}]", depth + 1, budget)
        for name, parameter in part.parameters.items():
            chain.parameters[f"{i}.{name}"] = parameter
            chain.origins[f"{i}.{name}"] = part.origins[name]
        if part.inputs is not None and chain.outputs is not None and part.inputs != chain.outputs:
            rule = f"{chain.outputs}, the width of the layer before it"
            raise SchemaError(part.input_key, rule, part.inputs)
        if part.inputs is not None and chain.inputs is None:
            chain.inputs, chain.input_key = part.inputs, part.input_key
        if part.outputs is not None:
            chain.outputs, chain.output_key = part.outputs, part.output_key
    return chain


ARRAY_DTYPES = tuple(order + kind for kind in ("f2", "f4", "f8") for order in "<>")
"""The dtypes of arrays in a model file (npy header ``descr``): floats of either byte order."""

_PARAMETER = Record({"shape": ListOf(COUNT, 0, 32), "dtype": one_of(*ARRAY_DTYPES)})


def check_parameters(table: Any, net: Network, arrays: dict[str, tuple[Shape, str]] | None) -> None:
    """The document's table of weights = the architecture's = the arrays in the archive."""
    MapOf(_PARAMETER, MAX_LAYERS).check(table, "parameters")
    if arrays is None:
        arrays = {name: (tuple(p["shape"]), p["dtype"]) for name, p in table.items()}
    needed = sorted(net.parameters)
    if sorted(table) != needed:
        rule = f"a table of exactly the weights the architecture has ({_names(needed)})"
        raise SchemaError("parameters", rule, sorted(table))
    if sorted(arrays) != needed:
        rule = f"the table of the arrays in the archive ({_names(sorted(arrays))})"
        raise SchemaError("parameters", rule, needed)
    for name, (shape, dtype) in net.parameters.items():
        key = f"parameters.{name}"
        if tuple(table[name]["shape"]) != shape:
            rule = f"{list(shape)}, the shape {net.origins[name]} give"
            raise SchemaError(f"{key}.shape", rule, table[name]["shape"])
        if tuple(arrays[name][0]) != shape:
            rule = f"the shape of the array in the archive ({list(arrays[name][0])})"
            raise SchemaError(f"{key}.shape", rule, list(shape))
        if table[name]["dtype"] != arrays[name][1]:
            rule = f"the dtype of the array in the archive ({arrays[name][1]!r})"
            raise SchemaError(f"{key}.dtype", rule, table[name]["dtype"])
        if xp.dtype(arrays[name][1]).itemsize != xp.dtype(dtype).itemsize:
            raise SchemaError(
                f"{key}.dtype", f"a {dtype} as the architecture says", arrays[name][1]
            )


def check_finite(arrays: dict[str, Any]) -> None:
    """Every weight is a finite number: NaN would predict the first class for every row, and
    infinity infinite outputs, without a word."""
    for name, array in arrays.items():
        finite = xp.isfinite(array)
        if not finite.all():
            at = tuple(int(i) for i in xp.unravel_index(int(xp.argmin(finite)), array.shape))
            rule = f"an array of finite numbers (no NaN or infinity; index {list(at)} is not)"
            raise SchemaError(f"parameters.{name}", rule, float(array[at]))


# ----- the parts of an estimator's file ------------------------------------------------------
_FILL = {"fill_value": FINITE}
_COLUMN = Tagged(
    "kind",
    {
        "numeric": Record({"name": TEXT, "kind": TEXT, "mean": FINITE, "scale": POSITIVE}, _FILL),
        "categorical": Record(
            {"name": TEXT, "kind": TEXT, "categories": ListOf(LABEL, 1, unique=True)},
            {"fill_value": LABEL},
        ),
    },
)
PREPROCESSING = Record(
    {
        "format": one_of("descend.Preprocessor"),
        "version": one_of(1),
        "standardize": BOOL,
        "one_hot": BOOL,
        "impute": maybe(one_of(*IMPUTE_STRATEGIES[1:])),
        "categorical": ListOf(TEXT),
        "columns": ListOf(_COLUMN, 1),
    }
)
LABELS = Record({"classes": ListOf(LABEL, 2, unique=True)})

_MODELS = ("auto", *dict.fromkeys(k for kinds in MODEL_KINDS.values() for k in kinds))
PARAMS = Record(
    {
        "model": one_of(*_MODELS),
        "hidden": Either(SIZE, ListOf(SIZE, 0, MAX_LAYERS)),
        "activation": one_of(*nn.ACTIVATIONS),
        "loss": maybe(one_of(*REGRESSION_LOSSES, *CLASSIFIER_LOSSES)),
        "optimizer": maybe(one_of(*OPTIMIZERS)),
        "lr": either(NULL, one_of("auto"), POSITIVE),
        "epochs": maybe(SIZE),
        "batch_size": either(NULL, one_of("auto", "full"), SIZE),  # 'full': older files
        "tol": maybe(RATE),
        "patience": COUNT,
        "standardize": BOOL,
        "impute": maybe(one_of(*IMPUTE_STRATEGIES[1:])),
        "categorical": ListOf(TEXT),
        "recover": BOOL,
        "verbose": BOOL,
        "log_every": COUNT,
    },
    {  # one of random_state and seed (older files say seed); alpha, verify are newer than 1
        "random_state": maybe(SEED),
        "seed": SEED,
        "alpha": allowed(Interval(float, 0, None, "left")),
        "verify": BOOL,
    },
)
"""The estimators' constructor parameters a model file keeps (all but validation, callbacks;
random_state as the int it stood for)."""

_EPOCH_VALUES = ListOf(maybe(ANY_NUMBER))
_GAP = Record(
    {
        f.name: rule
        for f, rule in zip(
            fields(OptimisationGap),
            (
                FINITE,
                FINITE,
                RATE,
                allowed(Interval(float, 0, None, "left"), Options(math.inf)),
                TEXT,
            ),
        )
    }
)
_DIAGNOSIS_RULES = {
    "verdict": one_of(*VERDICTS),
    "evidence": MapOf(SCALAR, 100),
    "suggestion": TEXT,
    "explanation": TEXT,
    "gap": maybe(_GAP),
    "suggested": Record(  # the settings the advice names, as fit takes them
        {},
        {
            "lr": either(POSITIVE, one_of("auto")),
            "epochs": SIZE,
            "alpha": RATE,
            "batch_size": maybe(SIZE),
            "optimizer": one_of(*OPTIMIZERS),
            "recover": BOOL,
            "standardize": BOOL,
            "tol": maybe(RATE),
            "schedule": NULL,
        },
    ),
}
DIAGNOSIS = Record({f.name: _DIAGNOSIS_RULES[f.name] for f in fields(Diagnosis)})
_EVENT = Record(
    {
        "epoch": COUNT,
        "event": one_of("recovered", "diverged"),
        "loss": maybe(ANY_NUMBER),
        "lr": RATE,
    },
    {"new_lr": RATE},
)
_SETTINGS = Record(
    {},
    {
        "loss": TEXT,
        "optimizer": TEXT,
        "lr": RATE,
        "epochs": SIZE,
        "batch_size": maybe(SIZE),
        "shuffle": BOOL,
        "seed": SEED,
        "rows": maybe(COUNT),
        "validation_rows": COUNT,
        "momentum": maybe(allowed(Interval(float, 0, 1, "left"))),
        "nesterov": maybe(BOOL),
        "alpha": allowed(Interval(float, 0, None, "left")),
        "tol": maybe(RATE),
        "patience": COUNT,
        "schedule": maybe(TEXT),
        "restore_best_weights": maybe(BOOL),
        "lr_rule": TEXT,
        "lr_reason": TEXT,
    },
)
_HISTORY_RULES = {
    **dict.fromkeys(PER_EPOCH, _EPOCH_VALUES),
    "lr": ListOf(RATE),
    "time": ListOf(RATE),
    "stop_reason": maybe(one_of(*STOP_REASONS)),
    "stop_message": TEXT,
    "events": ListOf(_EVENT),
    "settings": _SETTINGS,
    "diagnosis": maybe(DIAGNOSIS),
    "final_loss": maybe(ANY_NUMBER),
}
HISTORY = Record(
    {}, {**{f.name: _HISTORY_RULES[f.name] for f in fields(History)}, "best_epoch": maybe(COUNT)}
)
"""History.to_dict(): every key optional (older files lack some), none unknown."""


# ----- the whole document ----------------------------------------------------------------------
_VERSION = one_of(*FORMAT_VERSIONS)
COMMON = {
    "format": one_of(FORMAT),
    "format_version": _VERSION,
    "descend_version": Rule(
        "a version string", lambda v: type(v) is str and len(v) <= 100 and utf8(v)
    ),
    "kind": TEXT,
    "architecture": Rule("an object", lambda v: type(v) is dict),  # walked by network()
    "parameters": Rule("an object", lambda v: type(v) is dict),  # by _check_parameters()
    "sha256": Rule(
        "64 hex digits", lambda v: type(v) is str and bool(re.fullmatch("[0-9a-f]{64}", v))
    ),
}
DOCUMENT = Tagged(
    "kind",
    {
        "module": Record(COMMON),
        "estimator": Record(
            {
                **COMMON,
                "estimator": one_of(*MODEL_KINDS),
                "params": PARAMS,
                "model_kind": one_of(*_MODELS[1:]),
                "loss": one_of(*REGRESSION_LOSSES, *CLASSIFIER_LOSSES),
                "preprocessing": PREPROCESSING,
                "labels": maybe(LABELS),
                "history": HISTORY,
            },
            {"fitted_on_table": BOOL},
        ),
    },
)


def document(module: Any, extra: dict[str, Any]) -> dict[str, Any]:
    """The JSON document of a model file of ``module`` with the parts ``extra`` adds (its
    digest is the writer's to add)."""
    arrays = {name: xp.asarray(p.data) for name, p in module.named_parameters()}
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSIONS[-1],
        "descend_version": __version__,
        "architecture": module.to_config(),
        "parameters": {
            name: {"shape": list(a.shape), "dtype": a.dtype.str} for name, a in arrays.items()
        },
        **extra,
    }
