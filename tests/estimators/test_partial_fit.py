"""partial_fit: one epoch per call over the rows given, continuing from the calls before,
with scikit-learn's conventions (classes on the first call, the same columns after).

Over row blocks in the order fit visits them, partial_fit reaches fit's model: fit with
``batch_size=b`` takes one step per b rows, in an order drawn from its seed each epoch,
and so does a loop that feeds partial_fit blocks of b rows in that order. With L2,
partial_fit's ``alpha`` is per row (``SGDRegressor``'s): ``alpha=a / n`` over blocks of n
rows in all is fit's ``alpha=a`` (``Ridge``'s). With ``standardize=True``, partial_fit
standardises every block with the first block's means and scales, so it is fit on the
columns standardised that way.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from descend.errors import InputError
from descend.estimators import Classifier, Regressor

pd = pytest.importorskip("pandas")

BATCH, EPOCHS, SEED = 16, 6, 3


def data(n=96, k=None, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)) * [1.0, 3.0, 0.5, 2.0]
    score = X @ [1.0, -0.5, 2.0, 0.25]
    y = score + 0.1 * rng.normal(size=n) if k is None else np.digitize(score, [-1, 1][: k - 1])
    return X, y


def fit_order_blocks(n, epochs=EPOCHS, batch=BATCH, seed=SEED):
    """The row blocks fit(batch_size=batch, random_state=seed) steps on, in its order."""
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(n)
        yield from (order[i : i + batch] for i in range(0, n, batch))


CASES = [
    (lambda: Regressor(model="linear", lr=0.05), None),
    (lambda: Regressor(model="mlp", hidden=(8,), optimizer="adam", lr=0.01), None),
    (lambda: Classifier(model="logistic", lr=0.5), 2),
    (lambda: Classifier(model="softmax", lr=0.5), 3),
    (lambda: Classifier(model="mlp", hidden=(8,), optimizer="adam", lr=0.01), 3),
]


def stream_over_fit_s_blocks(make, X, y, k, alpha, **same):
    """partial_fit over the blocks fit(epochs=EPOCHS, **same) visits, in its order, with
    alpha per row: fit's ``alpha`` over the rows."""
    stream = make().set_params(alpha=alpha / len(X), **same)
    extra = {} if k is None else {"classes": np.unique(y)}
    for rows in fit_order_blocks(len(X)):
        stream.partial_fit(X[rows], y[rows], **extra)
    assert stream.n_iter_ == EPOCHS * len(X) // BATCH
    return stream


def assert_same_parameters(ours, theirs):
    for p, q in zip(ours.module_.parameters(), theirs.module_.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("alpha", [0.0, 20.0])
@pytest.mark.parametrize(("make", "k"), CASES)
def test_partial_fit_over_fit_s_blocks_reaches_fit_s_model(make, k, alpha):
    X, y = data(k=k)
    same = {"standardize": False, "batch_size": BATCH, "tol": None, "random_state": SEED}
    whole = make().set_params(epochs=EPOCHS, alpha=alpha, **same).fit(X, y)
    stream = stream_over_fit_s_blocks(make, X, y, k, alpha, **same)
    assert_same_parameters(stream, whole)
    if alpha:  # the penalty counts: without it, fit ends elsewhere
        free = make().set_params(epochs=EPOCHS, **same).fit(X, y)
        gap = max(np.abs(p.data - q.data).max() for p, q in zip(
            free.module_.parameters(), whole.module_.parameters()))  # fmt: skip
        assert gap > 1e-3


@pytest.mark.parametrize(("make", "k"), [CASES[0], CASES[3]])
def test_partial_fit_standardises_with_the_first_block_s_statistics(make, k):
    X, y = data(k=k)
    same = {"batch_size": BATCH, "tol": None, "random_state": SEED}
    stream = stream_over_fit_s_blocks(make, X, y, k, 20.0, standardize=True, **same)
    first = X[next(fit_order_blocks(len(X)))]
    Z = (X - first.mean(axis=0)) / first.std(axis=0)
    whole = make().set_params(epochs=EPOCHS, alpha=20.0, standardize=False, **same).fit(Z, y)
    assert_same_parameters(stream, whole)
    np.testing.assert_allclose(stream.predict(X), whole.predict(Z), rtol=1e-9, atol=1e-12)


def test_full_batch_partial_fit_on_all_rows_is_fit_epoch_by_epoch():
    X, y = data()
    whole = Regressor(epochs=25, tol=None).fit(X, y)  # standardised, full batch
    stream = Regressor()
    for _ in range(25):
        stream.partial_fit(X, y)
    np.testing.assert_allclose(stream.coef_, whole.coef_, rtol=1e-12)
    np.testing.assert_allclose(stream.loss_curve_, whole.loss_curve_, rtol=1e-12)
    assert stream.history_.settings["epochs"] == 25 and stream.diagnosis_.verdict


def test_an_out_of_core_loop_over_csv_chunks_learns_the_model(tmp_path):
    X, y = data(n=2000, seed=4)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(y=y)
    frame.to_csv(tmp_path / "big.csv", index=False)
    model = Regressor(lr=0.1, batch_size=100)
    for _ in range(5):
        for chunk in pd.read_csv(tmp_path / "big.csv", chunksize=500):
            model.partial_fit(chunk[["a", "b", "c", "d"]], chunk["y"])
    assert list(model.feature_names_in_) == ["a", "b", "c", "d"]
    np.testing.assert_allclose(model.coef_, [1.0, -0.5, 2.0, 0.25], atol=0.02)
    assert model.score(frame[["a", "b", "c", "d"]], frame["y"]) > 0.99
    assert model.n_iter_ == 20


def test_partial_fit_after_fit_continues_with_fit_s_rate_and_pickles_mid_stream():
    X, y = data()
    model = Regressor(lr="auto", epochs=5, tol=None).fit(X, y)
    rate = model.history_.settings["lr"]
    model.partial_fit(X, y)
    assert model.optimizer_.lr == rate and model.n_iter_ == 6
    twin = pickle.loads(pickle.dumps(model))
    model.partial_fit(X[:50], y[:50])
    twin.partial_fit(X[:50], y[:50])
    np.testing.assert_array_equal(twin.predict(X), model.predict(X))
    model.fit(X, y)  # a new fit starts again: a new optimizer, a new history
    assert model.n_iter_ == 5 and not hasattr(model, "optimizer_")


def test_the_first_call_needs_the_classes_and_later_calls_the_same_ones():
    X, y = data(k=3)
    with pytest.raises(InputError, match="classes must be passed on the first call"):
        Classifier().partial_fit(X, y)
    model = Classifier().partial_fit(X[:10], y[:10], classes=[0, 1, 2])
    assert model.kind_ == "softmax" and list(model.classes_) == [0, 1, 2]
    assert model.predict_proba(X).shape == (len(X), 3)
    model.partial_fit(X[10:20], y[10:20])
    with pytest.raises(InputError, match=r"classes=\[0, 1\] is not the same"):
        model.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(InputError, match="Unknown label 7"):
        model.partial_fit(X[:2], [0, 7])


def test_a_changed_number_of_columns_is_refused():
    X, y = data()
    model = Regressor().partial_fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but Regressor is expecting 4"):
        model.partial_fit(X[:, :3], y)
    table = Regressor().partial_fit(pd.DataFrame(X, columns=list("abcd")), y)
    with pytest.raises(InputError, match="missing: d"):
        table.partial_fit(pd.DataFrame(X[:, :3], columns=list("abc")), y)
    with pytest.raises(InputError, match=r"y has 2 column\(s\) but the model predicts 1"):
        model.partial_fit(X, np.c_[y, y])


def test_what_partial_fit_cannot_do_is_said():
    X, y = data()
    with pytest.raises(InputError, match="validation=0.2 holds rows out only in fit"):
        Regressor(validation=0.2).partial_fit(X, y)
    auto = Regressor(lr="auto", batch_size=32).partial_fit(X, y)  # the rate for these rows
    chosen = auto.history_.settings["lr"]
    assert isinstance(chosen, float) and auto.optimizer_.lr == chosen
    auto.partial_fit(X, y)
    assert auto.history_.lr[-1] == chosen


def test_dask_ml_incremental_trains_block_by_block():
    da = pytest.importorskip("dask.array")
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y = data(n=400, k=2)
    labels = np.where(y == 1, "yes", "no")
    Xd, yd = da.from_array(X, chunks=100), da.from_array(labels, chunks=100)
    incremental = wrappers.Incremental(
        Classifier(batch_size=100, random_state=1), shuffle_blocks=False
    )
    incremental.fit(Xd, yd, classes=["no", "yes"])
    model = incremental.estimator_
    assert model.n_iter_ == 4 and list(model.classes_) == ["no", "yes"]
    by_hand = Classifier(batch_size=100, random_state=1)
    for start in range(0, 400, 100):
        by_hand.partial_fit(X[start : start + 100], labels[start : start + 100], ["no", "yes"])
    np.testing.assert_allclose(incremental.predict_proba(Xd).compute(), by_hand.predict_proba(X))
