import numpy as np
import pytest

import descend
from descend import nn
from descend.engine.gradcheck import numerical_gradient
from descend.errors import InputError


def test_linear_computes_the_lessons_forward_pass():
    layer = nn.Linear(3, 1)
    layer.weight.data[:] = np.array([[0.1], [-0.3], [0.5]])
    layer.bias.data[:] = 0.0
    x = np.array([[65.0, 78.0, 1.2]])  # the lesson's patient
    expected = x @ np.array([0.1, -0.3, 0.5])
    assert layer(x).data.ravel() == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_takes_a_plain_list_and_trains_through_it(bias):
    layer = nn.Linear(2, 1, bias=bias, seed=0)
    out = layer([[1.0, 2.0], [3.0, -1.0]])
    expected = np.array([[1.0, 2.0], [3.0, -1.0]]) @ layer.weight.data
    np.testing.assert_allclose(out.data, expected + (layer.bias.data if bias else 0.0))
    out.sum().backward()
    np.testing.assert_allclose(layer.weight.grad, [[4.0], [1.0]])


def test_linear_shapes_and_zero_init():
    layer = nn.Linear(4, 2, init="zeros")
    assert layer.weight.shape == (4, 2)
    assert layer.bias.shape == (2,)
    assert not layer.weight.data.any()
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert nn.Linear(4, 2, bias=False).parameters()[0] is not None
    assert len(nn.Linear(4, 2, bias=False).parameters()) == 1


@pytest.mark.parametrize(
    ("init", "fan_in", "fan_out", "bound"),
    [("xavier", 200, 100, np.sqrt(6 / 300)), ("he", 200, 100, np.sqrt(6 / 200))],
)
def test_uniform_initialisers_respect_their_bounds(init, fan_in, fan_out, bound):
    w = nn.Linear(fan_in, fan_out, init=init, seed=1).weight.data
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.95 * bound  # 20,000 draws reach close to the bound
    assert w.std() == pytest.approx(bound / np.sqrt(3), rel=0.03)


def test_normal_initialisers_have_their_variance():
    w = nn.Linear(400, 300, init="he_normal", seed=2).weight.data
    assert w.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    w = nn.Linear(400, 300, init="xavier_normal", seed=2).weight.data
    assert w.std() == pytest.approx(np.sqrt(2 / 700), rel=0.02)


def test_seeded_layers_are_reproducible_and_distinct():
    a, b = nn.Linear(5, 3, seed=7), nn.Linear(5, 3, seed=7)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    m = nn.MLP([5, 5, 5], seed=0)
    assert not np.array_equal(m[0].weight.data, m[2].weight.data)
    np.testing.assert_array_equal(m[0].weight.data, nn.MLP([5, 5, 5], seed=0)[0].weight.data)


def test_mlp_structure_parameters_and_gradients():
    model = nn.MLP([2, 8, 8, 3], activation="tanh", seed=0)
    names = [name for name, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    x = np.random.default_rng(0).normal(size=(5, 2))
    model(x).sum().backward()
    for p in model.parameters():  # backward() against central differences, through every layer
        with descend.no_grad():
            numerical = numerical_gradient(lambda: float(model(x).sum().data), p.data)
        np.testing.assert_allclose(p.grad, numerical, rtol=1e-6, atol=1e-8)
    model.zero_grad()
    out = model(x)
    assert out.shape == (5, 3)
    out.sum().backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_state_dict_round_trip_and_mismatch_errors():
    a, b = nn.MLP([3, 4, 1], seed=1), nn.MLP([3, 4, 1], seed=2)
    b.load_state_dict(a.state_dict())
    x = np.ones((2, 3))
    np.testing.assert_array_equal(a(x).data, b(x).data)
    with pytest.raises(InputError, match="missing"):
        b.load_state_dict({"0.weight": np.zeros((3, 4))})
    bad = a.state_dict()
    bad["0.weight"] = np.zeros((4, 4))
    with pytest.raises(
        InputError, match=r"'0.weight' has shape \(4, 4\) in the state but \(3, 4\)"
    ):
        b.load_state_dict(bad)


def test_config_rebuilds_the_same_architecture():
    model = nn.Sequential(
        nn.Linear(3, 4, seed=3), nn.LeakyReLU(0.2), nn.Dropout(0.1), nn.Linear(4, 2)
    )
    rebuilt = nn.from_config(model.to_config())
    assert repr(rebuilt) == repr(model)
    mlp = nn.MLP([3, 6, 2], activation="gelu", seed=5)
    rebuilt = nn.from_config(mlp.to_config())
    np.testing.assert_array_equal(rebuilt[0].weight.data, mlp[0].weight.data)
    with pytest.raises(InputError, match="Unknown module type 'Nope'"):
        nn.from_config({"type": "Nope"})


def test_activations_match_numpy():
    x = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(nn.ReLU()(x).data, np.maximum(x, 0))
    np.testing.assert_allclose(nn.Tanh()(x).data, np.tanh(x))
    np.testing.assert_allclose(nn.Sigmoid()(x).data, 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(nn.LeakyReLU(0.1)(x).data, np.where(x > 0, x, 0.1 * x))
    gelu = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    np.testing.assert_allclose(nn.GELU()(x).data, gelu)
    s = nn.Softmax()(x.reshape(1, -1)).data
    np.testing.assert_allclose(s[0], np.exp(x) / np.exp(x).sum())


def test_dropout_scales_in_training_and_is_identity_in_eval():
    drop = nn.Dropout(0.25, seed=0)
    x = np.ones((200, 50))
    out = drop(x).data
    kept = out != 0
    assert kept.mean() == pytest.approx(0.75, abs=0.01)
    np.testing.assert_allclose(out[kept], 1 / 0.75)
    drop.eval()
    np.testing.assert_array_equal(drop(x).data, x)


def test_train_eval_propagate_and_repr_reads_well():
    model = nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.5))
    model.eval()
    assert model[1].training is False
    text = repr(nn.Sequential(nn.Linear(2, 3, seed=0), nn.ReLU()))
    assert "(0): Linear(in_features=2, out_features=3" in text
    assert "(1): ReLU()" in text


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: nn.Linear(0, 1),
            r"'in_features' parameter of Linear must be an int in \[1, inf\)",
        ),
        (lambda: nn.Linear(2, 1, init="magic"), "'init' parameter of Linear must be one of"),
        (lambda: nn.MLP([3]), "'sizes' parameter of MLP"),
        (lambda: nn.MLP([3, 1], activation="swish"), "'activation' parameter of MLP"),
        (lambda: nn.Dropout(1.0), r"'p' parameter of Dropout must be a float in \[0, 1\)"),
        (lambda: nn.Sequential(nn.Linear(1, 1), max), "argument 1 is a builtin_function_or_method"),
    ],
)
def test_bad_arguments_are_named(build, message):
    with pytest.raises(InputError, match=message):
        build()
