"""The model file's schema: every key, its type and range, and how the parts agree.

A model file is untrusted input. Its SHA-256 digest proves integrity, not
origin: anyone can rewrite the JSON document and compute the digest again.
``check_model`` reads the document against a closed schema before anything
is built, in the spirit of safetensors' header checks: exact format
versions, no key it does not know and none missing, a dtype allowlist, only
the built-in layers and the known losses, and every cross-reference: the
layer sizes = the shapes of the arrays actually in the archive = the width of
the preprocessing = the number of labels. The first violation is one
SchemaError (an InputError) that names the key and the rule.

``rules``: descend's parameter constraints as the leaves of a document's rules, and the
walk that checks them; ``document``: the model file's rules, its architecture read
without building it (``network``); ``check``: a table of small functions, one per
cross-reference, and ``check_model``, the one check of a whole document.

>>> check_model({"format": "descend-model", "format_version": 0}, {})
Traceback (most recent call last):
...
descend.schema.rules.SchemaError: 'format_version' must be 1; got 0.
"""

from .check import AGREEMENTS, check_history, check_model, check_preprocessing, width
from .document import (
    ARRAY_DTYPES,
    DTYPES,
    FORMAT,
    FORMAT_VERSIONS,
    LAYERS,
    MODEL_KINDS,
    Budget,
    Network,
    check_finite,
    document,
    network,
)
from .rules import Rule, SchemaError

__all__ = [
    "AGREEMENTS",
    "ARRAY_DTYPES",
    "DTYPES",
    "FORMAT",
    "FORMAT_VERSIONS",
    "LAYERS",
    "MODEL_KINDS",
    "Budget",
    "Network",
    "Rule",
    "SchemaError",
    "check_finite",
    "check_history",
    "check_model",
    "check_preprocessing",
    "document",
    "network",
    "width",
]
