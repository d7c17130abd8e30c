"""The model file's schema against the code it describes: the layers, the estimators, the
records; and the architecture read without building it."""

import dataclasses
import inspect

import numpy as np
import pytest

import descend
from descend import nn
from descend.errors import InputError
from descend.estimators import Classifier, Regressor
from descend.learn.history import History
from descend.schema import LAYERS, MODEL_KINDS, SchemaError, network
from descend.schema.document import DIAGNOSIS, HISTORY, PARAMS
from descend.understand.diagnose import Diagnosis


def test_the_schema_knows_exactly_the_built_in_layers():
    built_in = {c.__name__ for c in nn.MODULES.values() if c.__module__ == nn.__name__}
    assert set(LAYERS) == built_in


def test_the_schema_keeps_every_constructor_parameter_of_the_estimators_but_two():
    for estimator in (Regressor, Classifier):
        names = set(inspect.signature(estimator).parameters) - {"validation", "callbacks"}
        assert set(PARAMS.keys) == names | {"seed"}  # seed: what older files say
        assert estimator._models == ("auto", *MODEL_KINDS[estimator.__name__])


def test_the_schema_knows_every_field_of_a_history_and_a_diagnosis():
    assert set(HISTORY.keys) == {f.name for f in dataclasses.fields(History)} | {"best_epoch"}
    assert set(DIAGNOSIS.keys) == {f.name for f in dataclasses.fields(Diagnosis)}


@pytest.mark.parametrize(
    "suggested",
    [
        {"lr": 0.05, "recover": True},
        {"lr": "auto"},
        {"standardize": True},
        {"batch_size": None, "optimizer": "nesterov", "lr": 0.5, "epochs": 300},
        {"alpha": 0.01, "epochs": 40},
    ],
)
def test_every_setting_the_advice_suggests_is_a_diagnosis_the_file_keeps(suggested):
    diagnosis = Diagnosis("still_improving", {}, "Advice.", "Why.", None, suggested)
    DIAGNOSIS.check(diagnosis.to_dict(), "diagnosis")


@pytest.mark.parametrize(
    ("suggested", "key"),
    [
        ({"lr": -1.0}, "diagnosis.suggested.lr"),
        ({"lr": "fast"}, "diagnosis.suggested.lr"),
        ({"optimizer": "newton"}, "diagnosis.suggested.optimizer"),
        ({"batch_size": 0}, "diagnosis.suggested.batch_size"),
        ({"recover": 1}, "diagnosis.suggested.recover"),
        ({"momentum": 0.9}, "diagnosis.suggested"),
    ],
)
def test_a_suggested_setting_fit_would_refuse_is_refused(suggested, key):
    diagnosis = Diagnosis("still_improving", {}, "Advice.", "Why.", None, suggested)
    with pytest.raises(SchemaError) as caught:
        DIAGNOSIS.check(diagnosis.to_dict(), "diagnosis")
    assert key in str(caught.value)


@pytest.mark.parametrize(
    "module",
    [
        nn.MLP([3, 8, 5, 2], activation="tanh", dropout=0.2, seed=4),
        nn.MLP([2, 1], activation="leaky_relu", seed=None),
        nn.Sequential(nn.Linear(3, 4), nn.Sequential(nn.ReLU(), nn.Linear(4, 2, bias=False))),
        nn.Linear(3, 2, dtype="float32"),
    ],
)
def test_the_architecture_read_from_its_config_has_the_weights_the_module_builds(module):
    net = network(module.to_config())
    built = {name: (tuple(p.shape), str(p.data.dtype)) for name, p in module.named_parameters()}
    assert net.parameters == built
    widths = [p.shape for p in module.parameters() if p.ndim == 2]
    assert (net.inputs, net.outputs) == (widths[0][0], widths[-1][1])


def test_layers_that_do_not_chain_are_named_by_the_key_of_the_one_that_breaks_the_chain():
    spec = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(5, 2)).to_config()
    with pytest.raises(SchemaError, match=r"'architecture.config.layers\[2\].config.in_features' "
                       r"must be 4, the width of the layer before it; got 5"):  # fmt: skip
        network(spec)


def test_nesting_is_bounded_before_the_stack_is():
    spec = nn.Linear(2, 2).to_config()
    for _ in range(40):
        spec = {"type": "Sequential", "config": {"layers": [spec]}}
    with pytest.raises(SchemaError, match="nested at most 32 Sequentials deep"):
        network(spec)


def test_save_refuses_a_model_load_could_not_read(tmp_path):
    class Doubler(nn.Module):
        def forward(self, x):
            return x * 2

    with pytest.raises(InputError, match="descend.save cannot write this model: "
                       "'architecture.config.layers\\[1\\].type' must be one of 'Linear'"):  # fmt: skip
        descend.save(nn.Sequential(nn.Linear(2, 2), Doubler()), tmp_path / "m.descend")
    assert not (tmp_path / "m.descend").exists()


def test_from_export_checks_the_document_it_is_given(tmp_path):
    from descend.estimators import from_export

    X = np.arange(20.0).reshape(-1, 2)
    model = Regressor(epochs=5).fit(X, X.sum(axis=1))
    module, meta = model._export()
    document = {"format": "descend-model", "format_version": 1, "descend_version": "0",
                "architecture": module.to_config(), "kind": "estimator", "sha256": "0" * 64,
                "parameters": {n: {"shape": list(p.shape), "dtype": p.data.dtype.str}
                               for n, p in module.named_parameters()}, **meta}  # fmt: skip
    assert from_export(module, document).predict(X).tolist() == model.predict(X).tolist()
    document["preprocessing"]["columns"][0]["scale"] = -1.0
    with pytest.raises(SchemaError, match=r"'preprocessing.columns\[0\].scale' must be"):
        from_export(module, document)
    document["preprocessing"]["columns"][0]["scale"] = 1.0
    with pytest.raises(InputError, match="not the ones the metadata's architecture"):
        from_export(nn.Linear(2, 3), document)
