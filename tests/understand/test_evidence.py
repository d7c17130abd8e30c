"""The numbers of a diagnosis, read from hand-made Histories."""

import math

import pytest

from descend.learn.history import History
from descend.understand.evidence import evidence, geometric_ratio, window_size

NAN = math.nan


def test_window_is_a_fifth_of_the_epochs_between_5_and_50():
    assert [window_size(n, None) for n in (3, 30, 100, 1000)] == [5, 6, 20, 50]
    assert window_size(1000, 7) == 7


def test_geometric_ratio_of_a_halving_sequence():
    assert geometric_ratio([8.0, 4.0, 2.0, 1.0]) == pytest.approx(0.5)
    assert math.isnan(geometric_ratio([1.0]))


def test_evidence_counts_rises_and_reads_the_update_cosine():
    loss = [1.0, 0.5, 0.6, 0.4, 0.45, 0.3, 0.35]
    cosine = [NAN, -1.0, -1.0, -0.5, -1.0, -1.0, -0.5]
    e = evidence(History(loss=loss, update_cosine=cosine, grad_norm=[1.0] * 7), window=5)
    assert e["share_up"] == pytest.approx(3 / 5)  # 0.5 -> 0.6, 0.4 -> 0.45, 0.3 -> 0.35
    assert e["update_cosine"] == pytest.approx(-4.0 / 5)  # the last five epochs
    assert e["zigzag_epochs"] == 4
    assert e["final_to_initial"] == pytest.approx(0.35)


def test_evidence_starts_after_the_last_recovery():
    h = History(loss=[1.0, 100.0, 1.0, 0.5, 0.25, 0.125])
    h.events.append({"epoch": 1, "event": "recovered", "lr": 1.0})
    e = evidence(h)
    assert e["analysed_from_epoch"] == 2 and e["recoveries"] == 1
    assert e["loss_ratio"] == pytest.approx(0.5)
