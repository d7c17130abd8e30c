"""Model files rewritten by an adversary, digest recomputed: refused in one line, or harmless.

The crafted set of issue 15 (every kind of file it names, on every kind of model file),
then every structural mutation of every key and array (thinned to a few per key here;
``make fuzz`` runs them all and 100,000 random ones), then damaged bytes, then files
written by older descends, which must keep loading.
"""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import descend
from descend.cli.main import main
from descend.errors import InputError
from tests import model_files as mf

FAILURES = ("inconsistent", "unfaithful", "traceback")
FIXTURES = Path(__file__).parent / "fixtures" / "model_files"


def bound(size: int) -> int:
    """The most memory loading a file of ``size`` bytes may allocate (tracemalloc's peak)."""
    return 2 * 2**20 + 32 * size


@pytest.fixture(scope="module")
def scratch():
    return mf.scratch_folder()


@pytest.fixture(scope="module")
def bases(scratch):
    """name -> (ModelFile, the rows to predict on, what the real file predicts, its size)."""
    folder = scratch
    found = {}
    for name, model in mf.base_models().items():
        path = folder / f"{name}.descend"
        descend.save(model, path)
        X = mf.inputs(model)
        found[name] = (mf.read(path), X, mf.outputs(descend.load(path), X), path.stat().st_size)
    return found


# ----- the crafted set of the issue ------------------------------------------------------------
ESTIMATORS = ("regressor", "binary", "multiclass", "mlp")
CLASSIFIERS = ("binary", "multiclass", "mlp")
LINEAR = ("regressor", "binary", "multiclass", "module")
EVERY = (*ESTIMATORS, "module", "mlp_module")


def _config(f):
    config = f.meta["architecture"]["config"]
    return config["layers"][0]["config"] if "layers" in config else config


def _set(*path, value):
    return lambda f: mf.put(f.meta, path, value)


def _drop(*path):
    return lambda f: mf.delete(f.meta, path)


def _config_set(key, value):
    return lambda f: _config(f).__setitem__(key, value)


def _more_inputs(f):
    """in_features one more than the weights and the preprocessing have."""
    _config(f)["in_features"] += 1


def _more_mlp_inputs(f):
    f.meta["architecture"]["config"]["sizes"][0] += 1


def _wider_everywhere(f):
    """in_features, the weights and their table one wider: only the preprocessing disagrees."""
    name = "0.weight" if "layers" in f.meta["architecture"]["config"] else "weight"
    weight = f.arrays[name]
    f.arrays[name] = np.vstack([weight, weight[:1]])
    _config(f)["in_features"] += 1
    mf._table(f, name)


def _huge_linear(f):
    """A Linear of 100,000 x 10,000 (8 GB) in the config and the table; the arrays stay small."""
    _config(f).update(in_features=100_000, out_features=10_000)
    name = "0.weight" if "layers" in f.meta["architecture"]["config"] else "weight"
    f.meta["parameters"][name]["shape"] = [100_000, 10_000]


def _huge_mlp(f):
    config = f.meta["architecture"]["config"]
    config["sizes"] = [config["sizes"][0], 100_000, 100_000, config["sizes"][-1]]


def _five_labels(f):
    f.meta["labels"]["classes"] = sorted(f.meta["labels"]["classes"] + ["zz1", "zz2"])


def _duplicate_column(f):
    columns = f.meta["preprocessing"]["columns"]
    columns[1]["name"] = columns[0]["name"]


def _reversed_labels(f):
    f.meta["labels"]["classes"].reverse()


def _twice_a_category(f):
    column = next(c for c in f.meta["preprocessing"]["columns"] if c["kind"] == "categorical")
    column["categories"].append(column["categories"][-1])


def _unknown_layer(f):
    f.meta["architecture"]["config"]["layers"][1] = {"type": "Exec", "config": {}}


def _array_left_out(f):
    del f.arrays[next(iter(f.arrays))]  # and the digest made without it


def _compressed(f):
    f.compression = mf.zipfile.ZIP_DEFLATED


def _header_of_8_gb(f):
    name = next(iter(f.arrays))
    f.members[f"param:{name}.npy"] = mf._npy_claiming(f.arrays[name], (100_000, 10_000))


def _array_member(dtype):
    def craft(f):
        name = next(iter(f.arrays))
        f.arrays[name] = f.arrays[name].astype(dtype)
        mf._table(f, name)

    return craft


def _mlps(count):
    """A Sequential of ``count`` MLPs of 33,333 sizes: 66,664 weight arrays each, declared in
    100 KB of JSON, where the archive holds 4 (an MLP's layers are listed from its sizes)."""

    def craft(f):
        config = {"sizes": [3] * 33_333, "activation": "relu", "dropout": 0.0, "init": None}
        mlp = {"type": "MLP", "config": {**config, "seed": None, "dtype": "float64"}}
        f.meta["architecture"] = {"type": "Sequential", "config": {"layers": [mlp] * count}}

    return craft


def _extra_members(f):
    """3,000 empty arrays beside the weights (the table of weights left as it is)."""
    for i in range(3000):
        f.arrays[f"x{i}"] = np.zeros(0)


def _weight_set(value):
    def craft(f):
        name = sorted(f.arrays)[-1]
        f.arrays[name] = f.arrays[name].copy()
        f.arrays[name].flat[0] = value

    return craft


def _category(value):
    def craft(f):
        column = next(c for c in f.meta["preprocessing"]["columns"] if c["kind"] == "categorical")
        column["categories"] = value

    return craft


ISSUE = [  # (what the issue names, the files it applies to, how to craft it, the key named)
    ("architecture config as a string", EVERY, _set("architecture", "config", value="x"), "architecture.config"),
    ("architecture config as a list", EVERY, _set("architecture", "config", value=[1]), "architecture.config"),
    ("an extra key in the config", EVERY, _config_set("extra", 1), "extra"),
    ("dtype 'object'", LINEAR, _config_set("dtype", "object"), "dtype"),
    ("dtype 'int64'", LINEAR, _config_set("dtype", "int64"), "dtype"),
    ("dtype 'V8'", LINEAR, _config_set("dtype", "V8"), "dtype"),
    ("an array of dtype object", EVERY, _array_member(object), "dtype"),
    ("an array of dtype int64", EVERY, _array_member(np.int64), "dtype"),
    ("an array of dtype V8", EVERY, _array_member("V8"), "dtype"),
    ("a seed of 'x'", EVERY, _config_set("seed", "x"), "seed"),
    ("a Sequential without layers", ("module",), _set("architecture", "config", value={}), "layers"),
    ("parameters of the wrong type", EVERY, _set("parameters", value="x"), "parameters"),
    ("preprocessing of the wrong type", ESTIMATORS, _set("preprocessing", value=[]), "preprocessing"),
    ("labels null on a classifier", CLASSIFIERS, _set("labels", value=None), "labels"),
    ("history.loss of the wrong type", ESTIMATORS, _set("history", "loss", value="x"), "history.loss"),
    ("history.events of the wrong type", ESTIMATORS, _set("history", "events", value=5), "history.events"),
    ("history.settings of the wrong type", ESTIMATORS, _set("history", "settings", value=[]), "history.settings"),
    ("no architecture", EVERY, _drop("architecture"), "architecture"),
    ("no model_kind", ESTIMATORS, _drop("model_kind"), "model_kind"),
    ("no loss", ESTIMATORS, _drop("loss"), "'loss'"),
    ("no preprocessing", ESTIMATORS, _drop("preprocessing"), "preprocessing"),
    ("duplicate preprocessing column names", ESTIMATORS, _duplicate_column, "preprocessing.columns"),
    ("in_features disagrees with the weights", LINEAR, _more_inputs, "in_features"),
    ("MLP sizes disagree with the weights", ("mlp", "mlp_module"), _more_mlp_inputs, "sizes"),
    ("in_features and weights disagree with the preprocessing", ESTIMATORS[:3], _wider_everywhere, "in_features"),
    ("a Linear of 100,000 x 10,000 (8 GB)", LINEAR, _huge_linear, "parameters|in_features"),
    ("an MLP with layers of 100,000", ("mlp", "mlp_module"), _huge_mlp, "parameters|weight arrays in the archive"),
    ("format_version 0", EVERY, _set("format_version", value=0), "format_version"),
    ("format_version true", EVERY, _set("format_version", value=True), "format_version"),
    ("format_version -5", EVERY, _set("format_version", value=-5), "format_version"),
    ("format_version 2", EVERY, _set("format_version", value=2), "version 2"),
    ("5 labels for a model of 3 outputs", ("multiclass", "mlp"), _five_labels, "out"),
    ("a preprocessing scale of 0", ESTIMATORS, _set("preprocessing", "columns", 0, "scale", value=0.0), "scale"),
    ("a loss of 5", ESTIMATORS, _set("loss", value=5), "'loss'"),
    ("a loss of 'bogus'", ESTIMATORS, _set("loss", value="bogus"), "'loss'"),
    ("an lr of -1", ESTIMATORS, _set("params", "lr", value=-1), "params.lr"),
    # beyond the issue's list: more lies of the same kinds
    ("labels for more outputs than the model has", ("binary",), _five_labels, "model_kind"),
    ("labels out of order", CLASSIFIERS, _reversed_labels, "labels.classes"),
    ("a category listed twice", ESTIMATORS, _twice_a_category, "categories"),
    ("a NaN mean", ESTIMATORS, _set("preprocessing", "columns", 0, "mean", value=math.nan), "mean"),
    ("an unknown key at the top", EVERY, _set("pickle", value="cos\nsystem"), "'pickle'"),
    ("a kind of 'bogus'", EVERY, _set("kind", value="bogus"), "'kind'"),
    ("an unknown estimator", ESTIMATORS, _set("estimator", value="Bogus"), "'estimator'"),
    ("an unknown layer type", ("module",), _unknown_layer, "type"),
    ("model_kind mlp on a linear network", ESTIMATORS[:3], _set("model_kind", value="mlp"), "model_kind"),
    ("params.hidden disagrees with the MLP", ("mlp",), _set("params", "hidden", value=[7]), "sizes"),
    ("no standardisation but a scale", ESTIMATORS, _set("preprocessing", "standardize", value=False), "standardize"),
    ("a verdict of 'bogus'", ESTIMATORS, _set("history", "diagnosis", "verdict", value="bogus"), "verdict"),
    ("an array left out of the archive", EVERY, _array_left_out, "parameters|weight arrays in the archive"),
    ("a compressed archive", EVERY, _compressed, "compressed"),
    ("an npy header of 8 GB", EVERY, _header_of_8_gb, "does not match"),
    # found by the audit of the fix: sizes, names, values, axes
    ("one MLP of 33,333 sizes", ("module",), _mlps(1), "weight arrays in the archive"),
    ("a Sequential of 30 MLPs of 33,333 sizes", ("module",), _mlps(30), "weight arrays in the archive"),
    ("3,000 arrays more than the table lists", ("module",), _extra_members, "and 2994 more"),
    ("a NaN weight", EVERY, _weight_set(math.nan), "finite numbers"),
    ("an infinite weight", EVERY, _weight_set(-math.inf), "finite numbers"),
    ("a label with a lone surrogate", ("binary",), _set("labels", "classes", value=["high", "low\ud800"]), "labels.classes[1]"),
    ("a column name with a lone surrogate", ESTIMATORS, _set("preprocessing", "columns", 0, "name", value="age\udfff"), "name"),
    ("a category with a lone surrogate", ESTIMATORS, _category(["f", "m\ud800"]), "categories[1]"),
    ("labels 1 and '1' (one CSV column name)", ("binary",), _set("labels", "classes", value=[1, "1"]), "text forms"),
    ("categories 1 and '1'", ESTIMATORS, _category([1, "1"]), "text forms"),
    ("an unknown key of 100,000 characters", EVERY, _set("k" * 100_000, value=1), "must be absent"),
    ("a format of 5,000 numbers", EVERY, _set("format", value=list(range(5000))), "not a descend model file"),
    ("a format version of 4,000 digits", EVERY, _set("format_version", value=10**4000), "format version 1000"),
    ("a Softmax along axis 5 of rows x columns", ("module",), _set("architecture", "config", "layers", 5, "config", "axis", value=5), "axis"),
]  # fmt: skip
MESSAGE = 1000
"""The most characters a refusal may take, whatever the file holds."""


def issue_cases():
    for what, files, craft, key in ISSUE:
        for base in files:
            yield pytest.param(base, craft, key, id=f"{base}: {what}")


@pytest.mark.parametrize(("base", "craft", "key"), list(issue_cases()))
def test_a_crafted_file_of_the_issue_is_refused_in_one_line_naming_the_key(
    bases, tmp_path, base, craft, key
):
    model, X, original, _ = bases[base]
    crafted = model.copy()
    craft(crafted)
    path = tmp_path / "crafted.descend"
    mf.write(path, crafted)
    loaded, error, peak = mf.load_measured(path)
    assert isinstance(error, InputError), f"accepted or crashed: {error!r}"
    assert "\n" not in str(error) and any(k in str(error) for k in key.split("|"))
    assert len(str(error)) < MESSAGE
    assert peak < bound(path.stat().st_size)


def test_descend_predict_refuses_a_crafted_file_of_each_kind_in_one_line(bases, tmp_path, capsys):
    """The command line meets the same files: exit 2, one line, no traceback (one file of
    each kind, an estimator's where the kind has one)."""
    data = tmp_path / "X.csv"
    bases["regressor"][1].to_csv(data, index=False)
    for what, files, craft, _ in ISSUE:
        model = bases[next((b for b in files if b in ESTIMATORS), files[0])][0].copy()
        craft(model)
        path = tmp_path / "crafted.descend"
        mf.write(path, model)
        status = main(["predict", str(path), str(data)])
        out, err = capsys.readouterr()
        assert (status, err.count("\n"), out) == (2, 1, ""), f"{what}: {err[-300:]}"
        assert err.startswith("descend: error: ") and len(err) < MESSAGE + 100, what


# ----- every key, every array, the archive, the bytes ------------------------------------------
def thinned(cases, keep=4):
    """A few mutations of each key: the first ``keep`` of each key's list of cases."""
    seen: dict[str, int] = {}
    for case in cases:
        where = case.name.rsplit(":", 1)[0]
        seen[where] = seen.get(where, 0) + 1
        if seen[where] <= keep:
            yield case


@pytest.mark.parametrize("base", EVERY)
def test_every_key_and_array_mutated_is_refused_or_read_as_written(bases, scratch, base):
    model, X, original, size = bases[base]
    cases = list(thinned(mf.structural_cases(base, model), keep=2))
    results = mf.replay_all(cases, scratch, {base: (X, original)})
    failures = [(name, o.message[-500:]) for kind in FAILURES for name, o in results[kind]]
    assert failures == []
    assert all("\n" not in o.message for _, o in results["refused"])
    assert max(o.peak for kind in results for _, o in results[kind]) < bound(size)
    assert len(results["refused"]) > len(cases) / 2


@pytest.mark.parametrize("base", ("multiclass", "module"))
def test_damaged_bytes_are_refused_or_change_nothing_read(bases, tmp_path, base):
    model, X, original, _ = bases[base]
    path = tmp_path / "real.descend"
    mf.write(path, model)
    cases = list(mf.byte_cases(base, path.read_bytes(), 61))
    results = mf.replay_all(cases, tmp_path, {base: (X, original)})
    assert [name for kind in FAILURES for name, _ in results[kind]] == []
    assert len(results["refused"]) > len(cases) / 2


def test_a_faithful_edit_is_what_the_document_says(bases, tmp_path):
    """The oracle itself: a changed mean is read as written, and the reference agrees."""
    model, X, original, _ = bases["regressor"]
    crafted = model.copy()
    crafted.meta["preprocessing"]["columns"][0]["mean"] += 1.0
    results = mf.replay_all(
        [mf.Case("regressor: mean + 1", lambda: crafted)], tmp_path, {"regressor": (X, original)}
    )
    assert [name for name, _ in results["faithful"]] == ["regressor: mean + 1"]


def test_the_oracle_calls_five_labels_for_three_outputs_inconsistent(bases):
    model, X, _, _ = bases["multiclass"]
    crafted = model.copy()
    _five_labels(crafted)
    with pytest.raises(mf.Inconsistent, match="5 labels for 3 outputs"):
        mf.reference(crafted, X)


# ----- old files ----------------------------------------------------------------------------------
@pytest.mark.parametrize("commit", sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()))
def test_model_files_of_older_descends_load_and_predict_as_they_did(commit):
    folder = FIXTURES / commit
    X = pd.read_csv(folder / "X.csv")
    expected = json.loads((folder / "predictions.json").read_text())
    for name, outputs in expected.items():
        model = descend.load(folder / f"{name}.descend")
        if name == "module":
            got = mf.outputs(model, X[["age", "inr"]].assign(one=1.0).to_numpy())
            np.testing.assert_array_equal(got["forward"], outputs["forward"])
            continue
        assert model.predict(X).tolist() == outputs["predict"]
        if "predict_proba" in outputs:
            np.testing.assert_array_equal(model.predict_proba(X), outputs["predict_proba"])
        assert math.isfinite(model.history_.loss[-1])


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_save_refuses_weights_that_load_would_refuse(tmp_path, value):
    model = descend.nn.Sequential(descend.nn.Linear(2, 3, seed=0), descend.nn.Linear(3, 1, seed=1))
    model.parameters()[2].data[1, 0] = value
    path = tmp_path / "m.descend"
    with pytest.raises(InputError, match=r"'parameters.1.weight' must be an array of finite "
                       r"numbers \(no NaN or infinity; index \[1, 0\] is not\); got (nan|inf)"):  # fmt: skip
        descend.save(model, path)
    with pytest.raises(InputError, match=r"'architecture.config.layers\[1\].config.axis'"):
        descend.save(descend.nn.Sequential(model, descend.nn.Softmax(axis=2)), path)
    assert not path.exists()
