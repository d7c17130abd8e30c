import json
import math
import warnings

import numpy as np
import pytest

import descend
from descend import nn
from descend.datasets import load_patients
from descend.errors import InputError
from descend.learn.history import History
from descend.train import ConvergenceWarning
from descend.understand.diagnose import (
    Diagnosis,
    OptimisationGap,
    diagnose,
    optimisation_gap,
)

NAN = math.nan

# The 1-D quadratic of the issue: X = [[1], [-1]], y = [1, -1], mse without bias is
# (w - 1)^2, whose curvature is L = 2: 1/L = 0.5 and 2/L = 1.
X1 = np.array([[1.0], [-1.0]])
Y1 = np.array([1.0, -1.0])


def quadratic_fit(lr, epochs=100):
    model = nn.Linear(1, 1, bias=False, init="zeros")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return descend.fit(model, X1, Y1, lr=lr, epochs=epochs, verbose=False)


def history(loss, cosine=None, grad=None, lr=0.1, val=None, stop="max_epochs", **settings):
    """A History built by hand: per-epoch lists and the stop reason."""
    n = len(loss)
    return History(
        loss=list(loss),
        val_loss=list(val or []),
        lr=[lr] * n,
        grad_norm=list(grad) if grad is not None else [NAN] * n,
        update_cosine=list(cosine) if cosine is not None else [NAN] + [1.0] * (n - 1),
        stop_reason=stop,
        settings=settings,
    )


def patients(standardise=True):
    X, y, _ = load_patients()
    return ((X - X.mean(axis=0)) / X.std(axis=0) if standardise else X), y


# ----- each verdict from a constructed History --------------------------------------------
def test_converged_loss_flat_and_gradient_gone():
    loss = [0.5 + 2.0 * 0.5**k for k in range(40)]
    grad = [2.0 * 0.5**k for k in range(40)]
    d = diagnose(history(loss, grad=grad, stop="converged"))
    assert d.verdict == "converged"
    assert d.evidence["grad_norm_ratio"] == pytest.approx(0.5**39)
    assert d.evidence["recent_improvement"] < 1e-3
    assert d.evidence["final_to_initial"] == pytest.approx(loss[-1] / loss[0])
    assert d.suggestion.startswith("Nothing to change")


def test_still_improving_suggests_the_epochs_at_which_the_loss_settles():
    # loss = 0.9^k: the decreases shrink by 0.9 per epoch, the limit is 0. The run counts
    # as converged once the loss is below 1e-12 of its start: 0.9^m < 1e-12, m = 263.
    loss = [0.9**k for k in range(50)]
    d = diagnose(history(loss, grad=[0.9**k for k in range(50)]))
    assert d.verdict == "still_improving"
    assert d.evidence["share_up"] == 0
    expected = math.ceil(math.log(1e-12) / math.log(0.9))  # 263 epochs in all
    assert d.suggested["epochs"] == pytest.approx(expected, abs=10)
    assert f"epochs={d.suggested['epochs']}" in d.suggestion


def test_still_improving_when_convergence_was_fooled_by_tiny_steps():
    # Convergence stopped the run (tol), but the gradient never shrank: lr too small.
    loss = [1.0 - 1e-7 * k for k in range(30)]
    d = diagnose(history(loss, grad=[2.0] * 30, lr=1e-6, stop="converged"))
    assert d.verdict == "still_improving"
    assert d.evidence["grad_norm_ratio"] == 1.0
    assert d.suggested == {"lr": 1e-4}  # tiny steps (the loss barely moved): a hundred times


def test_oscillating_when_updates_reverse_even_though_the_loss_falls():
    loss = [0.36**k for k in range(30)]  # lr = 0.8 on L = 2: error * (1 - 1.6) per step
    d = diagnose(history(loss, cosine=[NAN] + [-1.0] * 29, lr=0.8))
    assert d.verdict == "oscillating"
    assert d.evidence["update_cosine"] == -1.0
    assert d.evidence["final_to_initial"] < 1e-12  # the loss itself fell all the way
    # 1/L from the loss ratio rho = (1 - lr L)^2: lr / (1 + sqrt(rho)) = 0.8 / 1.6
    assert d.suggested["lr"] == pytest.approx(0.5)


def test_oscillating_when_the_full_batch_loss_bounces():
    loss = [1.0, 0.5, 0.6, 0.45, 0.55, 0.44, 0.53, 0.43, 0.52, 0.42, 0.51]
    d = diagnose(history(loss, cosine=[NAN] + [0.0] * 10, lr=0.4))
    assert d.verdict == "oscillating"
    assert d.evidence["share_up"] == pytest.approx(0.6)  # 3 rises in the last 5 steps
    assert d.suggested["lr"] < 0.4


def test_diverged_stop_reason_with_1_over_l_from_the_growth():
    # lr = 1.2 on L = 2: the error grows by |1 - 2.4| = 1.4, the loss by 1.96 per step
    loss = [1.96**k for k in range(8)]
    d = diagnose(history(loss, cosine=[NAN] + [-1.0] * 7, lr=1.2, stop="diverged"))
    assert d.verdict == "diverged"
    assert d.suggested["lr"] == pytest.approx(0.5)  # 1.2 / (1 + 1.4) = 1/L exactly
    assert "lr=0.5" in d.suggestion


def test_diverged_without_a_stop_when_the_loss_keeps_rising():
    loss = [1.0 * 1.1**k for k in range(20)]
    d = diagnose(history(loss, cosine=[NAN] + [-1.0] * 19, lr=1.05, stop="converged"))
    assert d.verdict == "diverged"
    assert d.evidence["share_up"] == 1.0
    assert f"({1.1**19:.3g} times where it started)" in d.explanation
    assert "stopped as 'converged' because the loss stopped improving" in d.explanation


def test_diverged_when_the_last_loss_is_not_finite():
    d = diagnose(history([1.0, 0.5, math.inf], lr=10.0))
    assert d.verdict == "diverged"
    assert d.suggested["lr"] == pytest.approx(1.0)  # no growth to read: a tenth


def test_plateaued_minibatch_loss_hovers():
    rng = np.random.default_rng(0)
    loss = list(np.r_[np.geomspace(2.0, 0.1, 20), 0.1 + 0.01 * rng.random(40)])
    h = history(loss, cosine=[NAN] + [0.0] * 59, lr=0.1, stop="converged", batch_size=16, rows=200)
    d = diagnose(h)
    assert d.verdict == "plateaued"
    assert d.evidence["minibatch"] is True
    assert d.evidence["share_up"] > 0.2
    assert d.suggested["lr"] == pytest.approx(0.01)


def test_minibatch_run_that_settled_smoothly_converged():
    loss = [0.1 + 2.0 * 0.7**k for k in range(60)]
    h = history(loss, cosine=[NAN] + [0.3] * 59, stop="converged", batch_size=16, rows=200)
    assert diagnose(h).verdict == "converged"


def test_plateaued_full_batch_flat_with_a_large_gradient():
    loss = [1.0, 0.9] + [0.8 - 1e-7 * k for k in range(20)]
    loss[-2] += 1e-6  # one small rise in the last 5 epochs: not a bounce
    d = diagnose(history(loss, grad=[1.0] * 22, stop="converged"))
    assert d.verdict == "plateaued"
    assert d.evidence["share_up"] == pytest.approx(0.2)
    assert d.evidence["grad_norm_ratio"] == 1.0


def test_overfitting_validation_rises_while_training_falls():
    loss = [1.0 / (k + 1) for k in range(40)]
    val = [1.0 / (k + 1) + 0.002 * max(0, k - 15) ** 1.5 for k in range(40)]
    d = diagnose(history(loss, val=val))
    best = int(np.argmin(val))
    assert d.verdict == "overfitting"
    assert d.evidence["best_val_epoch"] == best
    assert d.evidence["val_rise"] == pytest.approx(min(val[-8:]) / val[best] - 1)
    assert d.suggested == {"epochs": best + 1}


def test_noisy_validation_is_not_overfitting():
    loss = [1.0 / (k + 1) for k in range(40)]
    val = [1.0 / (k + 1) * (1.3 if k % 2 else 1.0) for k in range(40)]  # the best is recent
    assert diagnose(history(loss, val=val)).verdict != "overfitting"


def test_a_large_generalisation_gap_is_noted():
    loss = [1.0 / (k + 1) for k in range(40)]
    val = [3.0 - 0.01 * k for k in range(40)]  # still falling, but far above the training loss
    d = diagnose(history(loss, val=val))
    assert d.verdict == "still_improving"
    assert "the validation loss (2.61) is 104 times the training loss" in d.explanation


def test_analysis_starts_after_the_last_recovery():
    loss = [1.0, 25.0, 625.0, 15625.0] + [625.0 * 0.16**k for k in range(30)]
    h = history(loss, cosine=[NAN, -1.0, -1.0, -1.0] + [-1.0] + [1.0] * 29, lr=0.3)
    h.events.append({"epoch": 3, "event": "recovered", "loss": 15625.0, "lr": 3.0, "new_lr": 0.3})
    d = diagnose(h)
    assert d.evidence["analysed_from_epoch"] == 4
    assert d.evidence["recoveries"] == 1
    assert d.verdict == "converged"
    assert d.suggested == {"lr": 0.3}  # start there next time


def test_window_size_and_errors():
    assert diagnose(history([1.0] * 300)).evidence["window"] == 50
    assert diagnose(history([1.0] * 12)).evidence["window"] == 5
    assert diagnose(history([1.0] * 12), window=3).evidence["window"] == 3
    with pytest.raises(InputError, match="has no epochs; train the model first"):
        diagnose(History())
    with pytest.raises(
        InputError, match="'history' parameter of diagnose must be a descend History"
    ):
        diagnose([1.0, 0.5])
    with pytest.raises(InputError, match="'window' parameter of diagnose"):
        diagnose(history([1.0] * 12), window=0)


def test_to_dict_round_trips_through_json():
    d = diagnose(history([0.36**k for k in range(30)], cosine=[NAN] + [-1.0] * 29, lr=0.8))
    d.gap = OptimisationGap(1.5, 1.0, 0.5, 0.5, "least squares")
    data = json.loads(json.dumps(d.to_dict()))
    back = Diagnosis.from_dict(data)
    assert back.verdict == "oscillating" and back.gap == d.gap
    assert back.suggestion == d.suggestion and back.evidence["update_cosine"] == -1.0
    text = str(d)
    assert text.startswith("Diagnosis: oscillating.")
    assert "Optimisation gap:" in text and "Suggestion: Lower the learning rate" in text


# ----- real fits of the quadratic with known curvature L = 2 ------------------------------
@pytest.mark.parametrize(
    ("lr", "verdict"),
    [
        (0.01, "still_improving"),  # far below 1/L: smooth but slow
        (0.1, "converged"),
        (0.3, "converged"),  # below 1/L: smooth
        (0.7, "oscillating"),  # between 1/L and 2/L: the loss falls, the weights zig-zag
        (0.9, "oscillating"),
        (1.2, "diverged"),  # above 2/L
        (3.0, "diverged"),
    ],
)
def test_quadratic_verdicts_follow_the_theory(lr, verdict):
    h = quadratic_fit(lr)
    d = Diagnosis.from_dict(h.diagnosis)
    assert d.verdict == verdict
    cosine = d.evidence["update_cosine"]
    if lr < 0.5:
        assert cosine == pytest.approx(1.0)
    else:
        assert cosine == pytest.approx(-1.0)
    if verdict == "oscillating":
        assert h.loss[-1] < 1e-6 * h.loss[0]  # it converged, zig-zagging


def test_quadratic_suggestions_land_on_one_over_l():
    for lr in (0.8, 0.9, 1.2, 3.0):
        assert quadratic_fit(lr).diagnosis["suggested"]["lr"] == pytest.approx(0.5)
    assert quadratic_fit(1e-4).diagnosis["suggested"]["lr"] == pytest.approx(0.5)


def test_following_the_epochs_or_the_rate_suggested_converges():
    # lr = 0.3 is within a factor 2 of 1/c = 0.5: more epochs; lr = 0.01 is far below: 1/c
    short = quadratic_fit(0.3, epochs=8)
    assert short.diagnosis["verdict"] == "still_improving"
    longer = quadratic_fit(0.3, epochs=short.diagnosis["suggested"]["epochs"])
    assert longer.diagnosis["verdict"] == "converged"
    assert longer.final_loss < 1e-12 * short.loss[0] < short.final_loss  # the measure: the loss
    slow = quadratic_fit(0.01, epochs=100)
    assert slow.diagnosis["suggested"] == {"lr": 0.5}
    faster = quadratic_fit(0.5, epochs=100)
    assert faster.diagnosis["verdict"] == "converged" and faster.final_loss < slow.final_loss


def test_first_step_curvature_of_the_unscaled_patients_is_the_top_eigenvalue():
    X, y = patients(standardise=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        h = descend.fit(nn.Linear(3, 1, init="zeros"), X, y, lr=1e-6, epochs=3, verbose=False)
    A = np.c_[X, np.ones(len(X))]
    top = np.linalg.eigvalsh(2 * A.T @ A / len(X))[-1]
    assert h.diagnosis["evidence"]["first_step_curvature"] == pytest.approx(top, rel=1e-3)


def test_zig_zag_in_a_narrow_valley_advises_standardising():
    X, y = patients(standardise=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        h = descend.fit(nn.Linear(3, 1, init="zeros"), X, y, lr=1e-4, epochs=300, verbose=False)
    d = h.diagnosis
    assert d["verdict"] == "slow_valley"  # issue 10: the valley has a verdict of its own
    assert d["evidence"]["zigzag_epochs"] > 10
    assert d["suggestion"].startswith("Standardise the features")


# ----- fit stores and prints the diagnosis ------------------------------------------------
def test_fit_stores_the_diagnosis_and_prints_it_after_the_stop_line(capsys):
    X, y = patients()
    h = descend.fit(nn.Linear(3, 1, init="zeros"), X, y, lr=0.1, epochs=300)
    out = capsys.readouterr().out
    assert h.diagnosis["verdict"] == "converged"
    assert out.index("Stopped: converged.") < out.index("Diagnosis: converged.")
    assert "Optimisation gap:" in out and "Suggestion: " in out
    assert json.loads(h.to_json())["diagnosis"]["verdict"] == "converged"


def test_estimators_keep_the_diagnosis_and_the_gap(tmp_path):
    X, y = patients(standardise=False)
    reg = descend.Regressor().fit(X, y)
    gap = reg.history_.diagnosis["gap"]
    assert gap["method"] == "least squares" and gap["relative"] < 1e-6
    path = tmp_path / "m.descend"
    descend.save(reg, path)
    assert descend.load(path).history_.diagnosis == reg.history_.diagnosis
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = descend.Classifier(epochs=30).fit(X, y > 2.5)
    assert clf.history_.diagnosis["gap"]["method"] == "Newton's method"


# ----- the diagnosis never crashes a run ------------------------------------------------
def overflow_data():
    rng = np.random.default_rng(0)
    X = rng.normal(0, 5, (100, 2))
    return X, 2 * X[:, 0] - X[:, 1] + rng.normal(0, 0.1, 100)


def test_a_learning_rate_beyond_float_range_is_diagnosed_not_raised():
    X, y = overflow_data()
    with np.errstate(all="ignore"):
        h = descend.fit(nn.Linear(2, 1), X, y, lr=1e200, verbose=False)
    assert h.stop_reason == "diverged"
    assert h.diagnosis["verdict"] == "diverged"
    assert math.isnan(h.diagnosis["evidence"]["first_step_curvature"])


def test_features_beyond_float_range_give_no_gap_and_a_note(capfd):
    X, y = overflow_data()
    with np.errstate(all="ignore"):
        h = descend.fit(nn.Linear(2, 1), X * 1e200, y, lr=0.01, verbose=False)
    d = Diagnosis.from_dict(h.diagnosis)
    assert d.gap is None and d.verdict == "diverged"
    assert "standardise the features" in d.explanation
    assert "Standardise the features" in d.suggestion
    assert "DLASCL" not in capfd.readouterr().out + capfd.readouterr().err
    with pytest.raises(InputError, match="overflows floating point"):
        optimisation_gap(nn.Linear(2, 1, init="zeros"), X * 1e200, y)
    with pytest.raises(InputError, match="NaN or infinite"):
        optimisation_gap(nn.Linear(2, 1, init="zeros"), X, y * math.inf)


# ----- tiny steps, and never a rate that diverged ---------------------------------------
def test_a_tiny_learning_rate_is_told_to_grow_not_to_train_longer():
    X, y = patients()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        h = descend.fit(nn.Linear(3, 1, init="zeros"), X, y, lr=1e-7, verbose=False)
    d = Diagnosis.from_dict(h.diagnosis)
    assert "epochs" not in d.suggested
    assert 0.3 < d.suggested["lr"] < 0.5  # 1/curvature; the top eigenvalue of the Hessian is 2.39
    assert "The steps are tiny" in d.explanation
    # issue 10: Convergence knows mu for linear regression and no longer stops this run as
    # 'converged' (it did, before, and the explanation said so)
    assert h.stop_reason == "max_epochs"


def test_no_suggestion_at_or_above_a_rate_that_diverged_or_jumped_in_the_run():
    loss = [10.0 - 1e-4 * k for k in range(30)]  # tiny steps: a rate 100 times larger...
    h = history(loss, grad=[1.0] * 30, lr=10.0, optimizer="SGD")
    h.events = [{"epoch": 3, "event": "recovered", "loss": 1e9, "lr": 100.0, "new_lr": 10.0}]
    d = diagnose(h)
    assert d.verdict == "still_improving"
    assert 10 < d.suggested["lr"] < 100  # ...but below the one that diverged
    assert "lr=100, which diverged in this run" in d.suggestion
    # minibatch Adam whose loss jumped 5 times early on and still falls: more epochs, no rate
    loss = [3.0, 1.6, 8.0, 2.0] + [1.5 * 0.97**k for k in range(26)]
    h = history(loss, lr=0.3, optimizer="Adam", batch_size=32, rows=900)
    d = diagnose(h)
    assert d.verdict == "still_improving" and "lr" not in d.suggested
    assert d.suggested["epochs"] > 30 and "jumped by 5 times" in d.suggestion


def test_new_lows_of_float_noise_at_the_optimum_are_not_overfitting():
    loss = [0.1 + 0.5**k for k in range(60)]  # converged: new lows of 1e-11 after epoch 35
    val = [0.2 + 0.5**k for k in range(36)] + [0.21] * 24  # 5% above its lowest, at epoch 35
    d = diagnose(history(loss, grad=[0.5**k for k in range(60)], val=val, stop="converged"))
    assert (
        d.evidence["val_rise"] > 0.02 and 0 < d.evidence["train_improvement_since_best_val"] < 1e-6
    )
    assert d.verdict == "converged"
    overfit = [0.1 + 0.5 ** (k / 4) for k in range(60)]  # still learning the training rows
    assert diagnose(history(overfit, val=val)).verdict == "overfitting"


def test_the_gap_of_more_columns_than_rows_is_solved_in_the_rows_space():
    """5 rows, 2,000 columns: rows 0 and 1 are equal with different targets, so the best
    fit leaves (y0 - y1)^2 / 2 of squared error on them and none elsewhere, and the best
    logistic fit says 1/2 on both: 2 log 2 of cross-entropy. No 2,001 x 2,001 Gram matrix."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 2_000))
    X[1] = X[0]
    y = np.array([1.0, 3.0, 0.5, -2.0, 4.0])
    model = nn.Linear(2_000, 1, init="zeros")
    gap = optimisation_gap(model, X, y)
    assert gap.optimum == pytest.approx((3.0 - 1.0) ** 2 / 2 / 5, rel=1e-9)
    labels = np.array([1.0, 0.0, 1.0, 0.0, 1.0])
    logistic = optimisation_gap(model, X, labels, loss="bce_with_logits")
    assert logistic.optimum == pytest.approx(2 * math.log(2) / 5, rel=1e-6)


def test_a_jumping_minibatch_loss_is_sent_to_lr_auto_unless_lr_auto_chose_its_rate():
    loss = [2.0, 1.0, 0.8, 0.7, 0.6, 0.5, 1.6, 0.6, 0.55, 0.5]  # 3.2 times its low at epoch 6
    h = history(loss, lr=0.3, optimizer="Adam", batch_size=32, rows=900)
    d = diagnose(h)
    assert d.verdict == "oscillating" and d.evidence["jump"] == pytest.approx(3.2)
    assert d.evidence["jump_epoch"] == 6 and d.suggested == {"lr": "auto"}
    h.settings["lr_rule"] = "range test and a measured comparison"
    assert diagnose(h).suggested == {"lr": 0.03}  # not back to the rule that chose 0.3
    # a rise by a factor of a loss near 0 is noise, not a jump (under 1% of the first loss)
    quiet = history([2.0, 0.01, 0.001, 0.003, 0.001, 0.002], optimizer="Adam", batch_size=32)
    assert diagnose(quiet).evidence["jump"] == 1.0


def test_a_linear_model_with_mae_is_never_converged_without_its_optimum():
    # mae's optimum (a linear program) is not computed: a flat loss is not proof
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    X, y = (X - X.mean(axis=0)) / X.std(axis=0), (y - y.mean()) / y.std()
    for optimizer in ("sgd", "nesterov"):
        h = descend.fit(nn.Linear(10, 1, init="zeros"), X, y, loss="mae", optimizer=optimizer,
                        lr=0.05, epochs=300, verbose=False)  # fmt: skip
        assert h.diagnosis["evidence"]["convex"] and h.diagnosis["gap"] is None
        assert h.diagnosis["verdict"] != "converged" and h.stop_reason != "converged"


def test_steps_that_barely_moved_the_loss_of_separable_classes_come_first():
    # the audit: raw breast cancer at lr 1e-6, the loss still 91% of its start, was told
    # 'separable' (alpha) instead of what made the steps tiny
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    rows = np.random.default_rng(0).permutation(len(X))[:398]  # the audit's 70%
    X, y = X[rows], y[rows]
    settings = {"loss": "bce_with_logits", "optimizer": "sgd", "epochs": 100, "verbose": False}
    model = nn.Linear(30, 1, init="zeros")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        d = descend.fit(model, X, y.astype(float), lr=1e-6, **settings).diagnosis
    assert d["gap"]["optimum"] < 1e-9 and d["evidence"]["final_to_initial"] > 0.5
    assert d["verdict"] != "separable"
    assert d["suggested"] == {"standardize": True, "lr": "auto"}  # the scales differ 2e5 times
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    again = nn.Linear(30, 1, init="zeros")
    descend.fit(again, Z, y.astype(float), lr="auto", **settings)
    before = descend.evaluate_loss(model, X, y.astype(float), "bce_with_logits")
    assert descend.evaluate_loss(again, Z, y.astype(float), "bce_with_logits") < 0.2 * before


def test_a_separable_loss_driven_past_newtons_last_step_is_separable_not_converged():
    # the loss has no minimum: a run whose loss ends below Newton's 100th step reads a gap of
    # 0, which is no proof of a minimum reached
    from sklearn.datasets import make_classification

    X, y = make_classification(
        140, 4, n_informative=2, n_redundant=0, class_sep=3.0, flip_y=0.0, random_state=24
    )
    h = history([0.69, 1e-3, 1e-8, 1e-14])
    h.settings["loss"] = "bce_with_logits"
    gap = OptimisationGap(1e-14, 2e-14, 0.0, 0.0, "Newton's method")
    d = diagnose(h, gap)
    assert d.verdict == "separable" and d.evidence["gap_relative"] == 0.0
    e = descend.Classifier(model="logistic").fit(X, y)
    assert e.history_.diagnosis["verdict"] == "separable", e.history_.diagnosis["explanation"]
