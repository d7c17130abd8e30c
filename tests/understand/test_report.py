"""The report: one HTML file showing a run, checked in numbers and in a real Chromium."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import descend
from descend.datasets import patients_path
from descend.errors import InputError
from descend.learn.history import History
from descend.understand.report import curvature, report, run_data
from descend.understand.sweep import descent_paths, line_loss, line_optimum
from tests.browser import watched_page

FEATURES = ["age", "weight", "creatinine"]
HOVER = """([div, x, y]) => {
  const gd = document.getElementById(div), box = gd.querySelector(".nsewdrag").getBoundingClientRect();
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  return [box.left + xa.l2p(xa.d2l(x)), box.top + ya.l2p(ya.d2l(y))];
}"""


@pytest.fixture(scope="module")
def patients() -> pd.DataFrame:
    return pd.read_csv(patients_path())


@pytest.fixture(scope="module")
def fitted(patients: pd.DataFrame) -> descend.Regressor:
    # lr=0.1: a run of some 50 epochs to hover over (the default, lr='auto', ends in 14, where
    # plotly shows no label for the point hovered)
    return descend.Regressor(validation=0.2, lr=0.1).fit(patients[FEATURES], patients["inr"])


def test_curvature_is_the_largest_eigenvalue_of_the_hessian() -> None:
    X = np.array([[1.0], [-1.0], [3.0]])
    history = History(loss=[1.0], settings={"loss": "mse"})
    data = run_data(history, X, np.array([1.0, 2.0, 3.0]))
    A = np.c_[X, np.ones(3)]
    assert curvature(data) == pytest.approx(2 * np.linalg.eigvalsh(A.T @ A / 3)[-1], rel=1e-12)
    # the same numbers by hand: A'A/3 = [[11/3, 1], [1, 1]]
    expected = (14 / 3 + math.sqrt((8 / 3) ** 2 + 4)) / 2
    assert curvature(data) == pytest.approx(2 * expected, rel=1e-12)


def test_logistic_descent_paths_are_gradient_descent_on_the_logistic_loss() -> None:
    x = np.array([-2.0, -1.0, 0.5, 1.0, 3.0])
    y = np.array([0.0, 0.0, 1.0, 0.0, 1.0])
    paths = descent_paths(x, y, lrs=[0.7], epochs=5, loss="bce_with_logits")
    w = b = 0.0
    for k in range(5):
        p = 1 / (1 + np.exp(-(w * x + b)))
        w, b = w - 0.7 * np.mean((p - y) * x), b - 0.7 * np.mean(p - y)
        np.testing.assert_allclose(paths.paths[0][k + 1], [w, b], rtol=1e-12)
    A = np.c_[x, np.ones(5)]
    assert paths.curvature == pytest.approx(np.linalg.eigvalsh(A.T @ A / 20)[-1])
    z = 0.3 * x - 0.2
    by_hand = np.mean(np.logaddexp(0, z) - z * y)
    assert float(line_loss(x, y, 0.3, -0.2, "bce_with_logits")) == pytest.approx(by_hand)
    best = line_optimum(x, y, "bce_with_logits")
    grad = [np.mean((1 / (1 + np.exp(-(best[0] * x + best[1]))) - y) * v) for v in (x, 1)]
    np.testing.assert_allclose(grad, 0, atol=1e-10)  # the optimum: the gradient vanishes


def test_line_loss_on_a_grid_is_the_mse_of_each_line() -> None:
    x, y = np.array([1.0, 2.0, 4.0]), np.array([0.0, 1.0, 1.0])
    W, B = np.meshgrid([0.0, 0.5], [1.0, -1.0, 2.0])
    surface = line_loss(x, y, W, B, offset=np.array([0.1, 0.0, -0.1]))
    for i, j in np.ndindex(W.shape):
        pred = W[i, j] * x + B[i, j] + np.array([0.1, 0.0, -0.1])
        assert surface[i, j] == pytest.approx(np.mean((pred - y) ** 2))


def test_the_report_refuses_what_it_cannot_show(tmp_path: str, fitted: descend.Regressor) -> None:
    with pytest.raises(InputError, match="'run' parameter of report"):
        report([1, 2], os.path.join(tmp_path, "r.html"))
    with pytest.raises(InputError, match="both X and y"):
        report(fitted, os.path.join(tmp_path, "r.html"), X=np.zeros((3, 3)))
    with pytest.raises(InputError, match="bare network"):
        report(descend.nn.Linear(2, 1), os.path.join(tmp_path, "r.html"))
    df = pd.read_csv(patients_path())
    with pytest.raises(InputError, match="'feature' parameter of report.*Got 'height'"):
        report(fitted, os.path.join(tmp_path, "r.html"), df[FEATURES], df["inr"], feature="height")
    assert not os.listdir(tmp_path)


def test_a_history_alone_gives_the_curve_and_the_diagnosis(tmp_path: str) -> None:
    history = descend.fit(
        descend.nn.Linear(1, 1, init="zeros"), [[1.0], [2.0]], [1.0, 2.0], lr=0.1, verbose=False
    )
    page = Path(report(history, os.path.join(tmp_path, "h.html"))).read_text(encoding="utf-8")
    assert "Verdict: <b>" + history.diagnosis["verdict"] in page
    assert "give X and y" in page  # the descent path needs the rows
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


# ----- in a real browser -------------------------------------------------------------------
def test_the_report_in_chromium(browser, tmp_path, fitted, patients) -> None:
    X, y = patients[FEATURES], patients["inr"]
    sweep = descend.sweep(
        descend.nn.Linear(3, 1, init="zeros"),
        fitted.preprocessor_.transform(X),
        y.to_numpy(),
        lrs=[0.01, 0.1, 0.3, 1.0],
        epochs=60,
    )
    path = report(
        fitted, os.path.join(tmp_path, "run.html"), X, y, sweep=sweep, data_name="patients.csv"
    )
    seen = watched_page(browser, height=1000)
    page = seen.page
    page.goto("file://" + path)
    page.wait_for_function("document.querySelectorAll('.plot .main-svg').length >= 3")
    history = fitted.history_

    plotted = page.evaluate("document.getElementById('loss-curve').data.map(t => t.y)")
    assert plotted[0] == history.loss and plotted[1] == history.val_loss  # to the last bit
    swept = page.evaluate("document.getElementById('sweep').data[0].y")
    assert swept == sweep.final_losses  # the loss of the weights each run returned (issue 10)
    shapes = page.evaluate("document.getElementById('sweep').layout.shapes.map(s => s.x0)")
    L = curvature(run_data(fitted, X, y))
    assert shapes == pytest.approx([1 / L, 2 / L], rel=1e-12)

    # the mouse on a point of the loss curve: the label tells its epoch and loss
    where = page.evaluate(HOVER, ["loss-curve", 5, history.loss[5]])
    page.mouse.move(*where)
    page.wait_for_selector("#loss-curve .hoverlayer .hovertext")
    label = page.locator("#loss-curve .hoverlayer").text_content()
    assert "epoch 5" in label and f"{history.loss[5]:.6g}" in label

    # the slider shows one precomputed path at a time
    def shown() -> list:
        return page.evaluate(
            "document.getElementById('descent-path').data"
            ".filter(t => t.visible === true).map(t => [t.name, t.x, t.y])"
        )

    first = shown()
    assert len(first) == 1 and "this run's lr" in first[0][0]
    page.focus("#lr-slider")
    page.keyboard.press("ArrowRight")
    second = shown()
    assert len(second) == 1 and second[0][0] != first[0][0]
    assert page.inner_text("#lr-label") == second[0][0]
    lr = float(second[0][0].split()[2])
    rows = fitted.training_rows(len(X))
    seen_by_model, target = fitted.preprocessor_.transform(X.iloc[rows]), y.iloc[rows].to_numpy()
    corr = [abs(np.corrcoef(seen_by_model[:, k], target)[0, 1]) for k in range(3)]
    column = seen_by_model[:, int(np.argmax(corr))]
    assert FEATURES[int(np.argmax(corr))] in page.locator("#descent-path .gtitle").text_content()
    expected = descent_paths(column, target, lrs=[lr]).paths[0]
    assert second[0][1] == expected[:, 0].tolist() and second[0][2] == expected[:, 1].tolist()

    assert "Step 4 - Weight update" in page.inner_text("pre.explain")
    assert not seen.errors
    assert seen.requests == ["file://" + path]  # nothing else: no CDN, no fonts
    print("screenshot:", seen.screenshot("report.png"))
    page.close()


def test_classifiers_get_the_logistic_slice_or_say_why_not(tmp_path, patients) -> None:
    X = patients[FEATURES]
    risk = pd.Series(np.where(patients["inr"] > 2.3, "high", "normal"), name="risk")
    binary = descend.Classifier().fit(X, risk)
    page = Path(report(binary, os.path.join(tmp_path, "b.html"), X, risk)).read_text("utf-8")
    assert "the logistic loss: its surface has curvature" in page
    assert "logistic regression on 3 rows" in page and "high, normal" in page
    band = pd.Series(pd.cut(patients["inr"], [0, 2.0, 2.6, 9], labels=list("abc")).astype(str))
    multi = descend.Classifier(epochs=20).fit(X, band)
    page = Path(report(multi, os.path.join(tmp_path, "m.html"), X, band)).read_text("utf-8")
    assert "drawn for one target (regression) or two classes" in page
    assert "told for linear and logistic models" in page
