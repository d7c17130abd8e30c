"""Tests for descend.datasets: the lesson's patients, shipped with the package, hold the
relationship their docstring states (the weights, the bias and the noise they were made with)."""

from __future__ import annotations

import numpy as np

from descend.datasets import (
    PATIENTS_NOISE_STD,
    PATIENTS_TRUE_BIAS,
    PATIENTS_TRUE_WEIGHTS,
    load_patients,
    patients_path,
)


def test_the_patients_are_200_rows_of_three_features_and_their_inr():
    X, y, names = load_patients()
    assert X.shape == (200, 3) and y.shape == (200,) and names == ["age", "weight", "creatinine"]
    with open(patients_path(), encoding="utf-8") as f:
        assert f.readline().strip() == "age,weight,creatinine,inr"
        assert sum(1 for _ in f) == 200


def test_least_squares_finds_the_stated_weights_within_their_standard_errors():
    X, y, names = load_patients()
    A = np.column_stack([X, np.ones(len(y))])
    theta = np.linalg.lstsq(A, y, rcond=None)[0]
    residual = y - A @ theta
    variance = residual @ residual / (len(y) - A.shape[1])
    errors = np.sqrt(np.diag(variance * np.linalg.inv(A.T @ A)))
    truth = [*(PATIENTS_TRUE_WEIGHTS[n] for n in names), PATIENTS_TRUE_BIAS]
    assert (np.abs(theta - truth) < 3 * errors).all()  # each within three standard errors
    noise = np.sqrt(residual @ residual / len(y))
    assert abs(noise - PATIENTS_NOISE_STD) < 0.1 * PATIENTS_NOISE_STD
