import math

import numpy as np
import pytest

import descend
from descend import nn
from descend.datasets import load_patients
from descend.errors import InputError
from descend.learn.history import History
from descend.learn.optim import SGD
from descend.understand.sweep import (
    DEFAULT_LRS,
    auto_lr,
    descent_paths,
    sweep,
    sweep_result,
)

# mse of w on X = [[1], [-1]], y = [1, -1] is (w - 1)^2: curvature L = 2, so gradient
# descent is smooth below 1/L = 0.5, zig-zags between 0.5 and 2/L = 1, diverges above.
X1 = np.array([[1.0], [-1.0]])
Y1 = np.array([1.0, -1.0])


def line():
    return nn.Linear(1, 1, bias=False, init="zeros")


def test_default_grid_on_the_quadratic_recommends_a_rate_in_the_stable_range():
    result = sweep(line(), X1, Y1)
    assert result.lrs == list(DEFAULT_LRS)
    verdicts = dict(zip(result.lrs, (d.verdict for d in result.diagnoses)))
    assert all(verdicts[lr] == "diverged" for lr in result.lrs if lr > 1)
    assert verdicts[1.0] == "oscillating"  # lr = 2/L: the weights flip between 0 and 2
    assert result.rows()[result.lrs.index(1.0)]["epochs_to_converge"] is None  # never settles
    assert verdicts[0.1] == verdicts[0.3] == "converged"
    assert all(verdicts[lr] == "still_improving" for lr in result.lrs if lr < 0.1)
    assert 0 < result.recommended_lr < 2 / 2  # inside the stable range (0, 2/L)
    assert result.recommended_lr == 0.3  # the largest smooth one: below 1/L
    assert "largest learning rate whose run neither zig-zagged nor diverged" in result.reason
    assert "Larger rates zig-zagged (1) or diverged (3, 10)" in result.reason


def test_table_rows_and_epochs_to_converge():
    result = sweep(line(), X1, Y1, lrs=[0.3, 0.1, 0.01, 3.0], epochs=100)
    assert result.lrs == [0.01, 0.1, 0.3, 3.0]  # sorted
    rows = {row["lr"]: row for row in result.rows()}
    # loss = (1 - 2 lr)^(2k): 99% of the decrease once it is below 0.01
    assert rows[0.3]["epochs_to_converge"] == 4  # 0.16^3 = 0.0041
    assert rows[0.1]["epochs_to_converge"] == 12  # 0.64^11 = 0.0074, 0.64^10 = 0.0115
    assert rows[0.01]["epochs_to_converge"] is None  # still improving
    # issue 10: runs are judged by the loss of the weights returned (after epoch 99's step)
    assert rows[0.01]["final_loss"] == pytest.approx(0.98**200)
    table = result.table()
    assert table.splitlines()[0].split() == [
        "lr",
        "final",
        "loss",
        "epochs",
        "to",
        "converge",
        "verdict",
    ]
    assert "0.3  " in table and "converged   <- recommended" in table
    assert "(stopped at" in table and "not in 100" in table
    assert str(result).endswith(result.reason)
    assert len(result.histories) == 4 and result.final_losses[1] == rows[0.1]["final_loss"]


def test_the_given_model_is_copied_not_trained():
    model = nn.Linear(1, 1, bias=False, seed=3)
    before = model.weight.data.copy()
    result = sweep(model, X1, Y1, lrs=[0.1])
    np.testing.assert_array_equal(model.weight.data, before)
    w0 = before[0, 0]
    assert result.histories[0].loss[0] == pytest.approx((w0 - 1) ** 2)  # the same start


def test_a_factory_builds_each_model():
    built = []

    def factory():
        built.append(line())
        return built[-1]

    sweep(factory, X1, Y1, lrs=[0.1, 0.3])
    assert len(built) == 3  # one to measure the starting loss, one per rate


def test_when_every_rate_zig_zags_the_recommendation_is_1_over_l():
    result = sweep(line(), X1, Y1, lrs=[0.7, 0.9, 3.0])
    assert [d.verdict for d in result.diagnoses] == ["oscillating", "oscillating", "diverged"]
    assert result.recommended_lr == pytest.approx(0.5)
    assert result.reason.startswith("Every learning rate zig-zagged or diverged; lr=0.5")


def test_when_every_rate_diverges_the_growth_gives_1_over_l():
    result = sweep(line(), X1, Y1, lrs=[3.0, 10.0])
    assert result.recommended_lr == pytest.approx(0.5)
    assert "Every learning rate diverged" in result.reason


def test_bad_arguments():
    with pytest.raises(InputError, match="'lrs' parameter of sweep"):
        sweep(line(), X1, Y1, lrs=[0.1, -1])
    with pytest.raises(InputError, match="'lrs' parameter of sweep"):
        sweep(line(), X1, Y1, lrs=[])
    with pytest.raises(InputError, match="needs a model or a function that builds one"):
        sweep("linear", X1, Y1)
    with pytest.raises(InputError, match="must return a descend Module"):
        sweep(lambda: 3, X1, Y1)
    with pytest.raises(InputError, match="'optimizer' parameter of sweep"):
        sweep(line(), X1, Y1, optimizer=SGD(line().parameters()))


def test_fit_lr_auto_takes_the_rate_from_the_curvature_and_says_so(capsys):
    # issue 10: for a convex full-batch run the rate comes from the curvature, without a sweep
    X, y, _ = load_patients()
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    A = np.c_[X, np.ones(len(X))]
    mu, L = np.linalg.eigvalsh(2 * A.T @ A / len(X))[[0, -1]]  # 1.64 and 2.387
    model = nn.Linear(3, 1, init="zeros")
    h = descend.fit(model, X, y, lr="auto", epochs=300, log_every=0)
    out = capsys.readouterr().out
    assert h.settings["lr"] == 0.44 and h.lr[0] == 0.44 and 0.44 <= 0.9 * 2 / (L + mu) < 0.45
    assert out.startswith("lr='auto': picked lr=0.44 from the curvature. lr = 0.9 x 2/(L + mu)")
    assert h.diagnosis["verdict"] == "converged"


def test_auto_lr_leaves_the_model_alone_and_needs_an_optimizer_name():
    model = nn.Linear(1, 1, bias=False, seed=1)
    before = model.weight.data.copy()
    assert auto_lr(model, X1, Y1, verbose=False) == 0.45  # 0.9 x 2 / (L + mu), L = mu = 2
    np.testing.assert_array_equal(model.weight.data, before)
    with pytest.raises(InputError, match="lr='auto' needs the optimizer by name"):
        descend.fit(model, X1, Y1, lr="auto", optimizer=SGD(model.parameters()), verbose=False)


def test_descent_paths_are_gradient_descent_on_the_loss_surface():
    x = np.array([0.5, 1.0, 1.5, 2.0])
    y = np.array([1.0, 2.0, 2.0, 3.5])
    paths = descent_paths(x, y, lrs=[0.05, 0.3], epochs=6)
    A = np.c_[x, np.ones(4)]
    assert paths.curvature == pytest.approx(np.linalg.eigvalsh(2 * A.T @ A / 4)[-1])
    np.testing.assert_allclose(paths.optimum, np.linalg.lstsq(A, y, rcond=None)[0])
    for lr, path in zip(paths.lrs, paths.paths):
        theta = np.zeros(2)
        expected = [theta]
        for _ in range(6):  # the lesson's loop, on (weight, bias)
            theta = theta - lr * 2 * A.T @ (A @ theta - y) / 4
            expected.append(theta)
        np.testing.assert_allclose(path, expected, rtol=1e-12, atol=1e-14)
    w, b = np.meshgrid([0.0, 1.0], [0.5, 2.0])
    surface = paths.loss(w, b)
    assert surface[1, 0] == pytest.approx(np.mean((0.0 * x + 2.0 - y) ** 2))


def test_default_descent_paths_are_too_small_just_right_and_too_large():
    paths = descent_paths()  # 50 epochs
    L = paths.curvature
    assert paths.lrs == [float(f"{k / L:.2g}") for k in (0.1, 0.9, 1.95)]
    verdicts = [h.diagnosis["verdict"] for h in paths.histories]
    assert verdicts == ["still_improving", "converged", "oscillating"]
    cosines = [np.nanmean(h.update_cosine[1:5]) for h in paths.histories]
    assert cosines[0] > 0.9 and cosines[1] > 0.5 and cosines[2] < -0.9  # the zig-zag
    np.testing.assert_allclose(paths.paths[1][-1], paths.optimum, atol=0.01)  # arrived
    with pytest.raises(InputError, match="needs both x and y"):
        descent_paths(x=[1.0, 2.0])


def _run(verdict, final, suggestion="Lower the learning rate to lr=0.05 (it was 0.1)."):
    from descend.understand.diagnose import Diagnosis

    h = History(loss=[1.0, final])
    h.diagnosis = Diagnosis(verdict, {"update_cosine": math.nan}, suggestion).to_dict()
    return h


def test_the_lowest_loss_counts_oscillating_runs_too():
    # lr=0.1 zig-zagged down to 0.02522; the smooth runs stopped near 0.0949, far above it
    runs = [_run("converged", 0.09457), _run("oscillating", 0.02522), _run("converged", 0.09489)]
    result = sweep_result([0.01, 0.1, 1.0], runs, start=1.0)
    assert result.recommended_lr == 0.1
    assert "lowest loss (0.02522, oscillating)" in result.reason
    assert "lr=0.01, reached 0.09457" in result.reason and "It zig-zags" in result.reason
    # a smooth run within 1% of the oscillating one's loss is preferred to it
    runs[2] = _run("converged", 0.0254)
    result = sweep_result([0.01, 0.1, 1.0], runs, start=1.0)
    assert result.recommended_lr == 1.0 and "lowest loss (0.02522, lr=0.1)" in result.reason
    # a diverged run's loss never counts
    runs = [_run("converged", 0.5), _run("diverged", 1e-3)]
    assert sweep_result([0.01, 0.1], runs, start=1.0).recommended_lr == 0.01
