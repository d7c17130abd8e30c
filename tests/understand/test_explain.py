import re

import numpy as np
import pytest

from descend.datasets import load_patients
from descend.errors import InputError
from descend.understand.explain import LESSON_WEIGHTS, explain

NUMBER = r"\(?(-?[\d.]+(?:e[+-]?\d+)?)\)?"


def gradient_table(text):
    """{name: (backward, finite difference, formula)} parsed from the printed table."""
    rows = re.findall(
        rf"^  (w_\S+|b)\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+[\d.e+-]+$", text, flags=re.M
    )
    return {name: tuple(float(v) for v in values) for name, *values in rows}


def updates(text):
    """[(name, old, lr, gradient, new)] parsed from the printed update rule."""
    rows = re.findall(rf"^  (w_\S+|b) = {NUMBER} - {NUMBER} × {NUMBER} = {NUMBER}$", text, re.M)
    return [(name, *(float(v) for v in values)) for name, *values in rows]


def losses_printed(text):
    after, before = re.search(rf"After the step: \w+ = {NUMBER} \(it was {NUMBER}\)", text).groups()
    return float(before), float(after)


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_printed_gradients_match_the_printed_finite_differences(task):
    text = str(explain(task=task))
    table = gradient_table(text)
    assert list(table) == ["w_age", "w_weight", "w_creatinine", "b"]
    for backward, difference, formula in table.values():
        assert backward == pytest.approx(difference, rel=1e-5, abs=1e-9)
        assert backward == pytest.approx(formula, rel=1e-5, abs=1e-9)
    assert "the gradient is right" in text


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_printed_update_is_old_minus_lr_times_gradient(task):
    text = str(explain(task=task, lr=0.05))
    rows = updates(text)
    table = gradient_table(text)
    assert [r[0] for r in rows] == list(table)
    for name, old, lr, grad, new in rows:
        assert lr == 0.05
        assert grad == table[name][0]  # the gradient of step 3
        assert new == pytest.approx(old - lr * grad, rel=1e-5, abs=1e-6)
    olds = [r[1] for r in rows]
    assert olds == list(LESSON_WEIGHTS) + [0.0]  # the lesson's starting weights


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_a_small_step_lowers_the_loss_and_a_long_one_overshoots(task):
    text = str(explain(task=task, lr=0.01))
    before, after = losses_printed(text)
    assert after < before and "the loss fell" in text
    if task == "regression":  # MSE has curvature: too long a step climbs the other side
        text = str(explain(task=task, lr=5.0))
        before, after = losses_printed(text)
        assert after > before and "The step overshot" in text and "lr=0.5 lowers it" in text


def test_forward_pass_and_loss_lines_add_up():
    step = explain(rows=3)
    text = str(step)
    X, y, _ = load_patients()
    Xs = (X - X.mean(axis=0)) / X.std(axis=0)
    np.testing.assert_allclose(step.X, Xs[:3])
    predictions = [float(v) for v in re.findall(rf"prediction = .* = {NUMBER}   \(true", text)]
    expected = Xs[:3] @ np.array(LESSON_WEIGHTS)
    np.testing.assert_allclose(predictions, expected, rtol=1e-5)
    squares = [float(v) for v in re.findall(rf"squared = {NUMBER}", text)]
    mse = float(re.search(rf"MSE = \(.*\) / 3 = {NUMBER}", text).group(1))
    assert mse == pytest.approx(np.mean(squares), rel=1e-5)
    assert mse == pytest.approx(np.mean((expected - y[:3]) ** 2), rel=1e-5)
    # the gradient, directly: (2/n) X^T (prediction - y), and for b (2/n) sum(error)
    error = expected - y[:3]
    np.testing.assert_allclose(step.gradients[:3], 2 / 3 * Xs[:3].T @ error, rtol=1e-12)
    assert step.gradients[3] == pytest.approx(2 / 3 * error.sum(), rel=1e-12)
    np.testing.assert_allclose(
        step.new_weights, np.array(LESSON_WEIGHTS) - 0.1 * step.gradients[:3]
    )


def test_classification_of_your_own_table_with_text_columns():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(
        {
            "size": [50.0, 80, 120, 65],
            "city": ["a", "b", "a", "b"],
            "sold": ["no", "yes", "yes", "no"],
        }
    )
    step = explain(df[["size", "city"]], df["sold"], task="classification", rows=2, lr=1.0)
    text = str(step)
    assert "The target y is 1 where the column 'sold' is 'yes' and 0 where it is 'no'." in text
    assert "city is 'a': x_city=a = 1, x_city=b = 0" in text
    assert list(gradient_table(text)) == ["w_size", "w_city=a", "w_city=b", "b"]
    p = 1 / (1 + np.exp(-(step.X @ step.weights + step.bias)))
    np.testing.assert_allclose(step.gradients[:3], step.X.T @ (p - [0, 1]) / 2, rtol=1e-10)
    assert step.loss_after < step.loss_before


def test_bad_arguments():
    X, y, _ = load_patients()
    with pytest.raises(InputError, match="'task' parameter of explain"):
        explain(task="ranking")
    with pytest.raises(InputError, match="'lr' parameter of explain"):
        explain(lr=0)
    with pytest.raises(
        InputError, match=r"'rows' parameter of explain must be an int in \[1, 200\]"
    ):
        explain(rows=500)
    with pytest.raises(InputError, match="needs both X and y"):
        explain(X)
    with pytest.raises(InputError, match="y has 3"):
        explain(X, np.arange(200) % 3, task="classification")
    with pytest.raises(InputError, match="'weights' needs one value per feature"):
        explain(X, y, weights=[1.0])
    with pytest.raises(InputError, match="X has 200 rows but y has 3"):
        explain(X, y[:3])


@pytest.mark.parametrize("lr, smaller", [(10.0, 0.1), (1e300, 0.1)])
def test_a_smaller_rate_is_suggested_only_once_its_step_is_checked(lr, smaller):
    step = explain(lr=lr)  # lr=1 after lr=10 still overshoots (5.69 times the loss)
    assert step.smaller_lr == smaller
    assert f"one step with lr={smaller:g} lowers it (checked)" in str(step)
    assert explain(lr=smaller).loss_after < step.loss_before
    assert explain(lr=smaller * 10).loss_after >= step.loss_before


def test_negative_means_are_parenthesised_and_errors_speak_to_both_interfaces():
    X = np.array([[1.0], [-3.0], [0.5]])
    text = str(explain(X, np.array([1.0, 2.0, 3.0]), rows=2))
    assert "x_x0 = (1 - (-0.5)) / 1.77951" in text
    from descend.cli.output import in_flags

    with pytest.raises(InputError, match=r"or use task='regression'\.$") as caught:
        explain(X, np.array([1.0, 2.0, 3.0]), task="classification")  # the library's words
    assert in_flags(str(caught.value)).endswith("or use --task regression.")  # the CLI's
