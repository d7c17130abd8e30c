"""``descend train`` on data beyond memory: a folder or pattern of files read in row blocks,
a Dask LocalCluster (--workers), and a run kept in a checkpoint (--checkpoint, --resume)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import descend
from descend.cli.main import main

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("big")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 3))
    df = pd.DataFrame(X, columns=["a", "b", "c"]).assign(
        town=rng.choice(["north", "south"], 3000), y=X @ [1.0, -2.0, 0.5] + rng.normal(0, 0.1, 3000)
    )
    for i in range(3):
        df.iloc[1000 * i : 1000 * (i + 1)].to_parquet(path / f"part-{i}.parquet")
    df.to_csv(path.parent / "all.csv", index=False)
    return path


def train(capsys, *words):
    assert main(["train", *map(str, words), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_folder_streams_and_learns_what_the_whole_table_in_memory_learns(folder, capsys):
    streamed = train(capsys, folder, "--target", "y", "--epochs", "40")
    whole = train(capsys, folder.parent / "all.csv", "--target", "y", "--epochs", "40")
    assert streamed["rows"] == whole["rows"] == 3000 and streamed["model"] == "linear"
    assert streamed["features"] == ["a", "b", "c", "town"]
    assert streamed["final_loss"] == pytest.approx(whole["metrics"]["training"]["mse"], rel=1e-9)
    pattern = train(capsys, folder / "part-*.parquet", "--target", "y", "--epochs", "40")
    assert pattern["final_loss"] == streamed["final_loss"]


def test_a_resumed_run_ends_where_the_uninterrupted_one_ends(folder, tmp_path, capsys):
    flags = ["--target", "y", "--batch-size", "256", "--optimizer", "adam", "--lr", "0.01"]
    whole = train(capsys, folder, *flags, "--epochs", "6")
    checkpoint = tmp_path / "run.ckpt"
    train(capsys, folder, *flags, "--epochs", "3", "--checkpoint", checkpoint)
    resumed = train(capsys, folder, *flags, "--epochs", "6", "--resume", checkpoint)
    assert resumed["epochs"] == 6 and resumed["final_loss"] == whole["final_loss"]


def test_resuming_a_run_that_converged_ends_as_it_ended(folder, tmp_path, capsys):
    checkpoint = tmp_path / "run.ckpt"
    flags = ["--target", "y", "--batch-size", "256", "--lr", "0.01", "--epochs", "500"]
    first = train(capsys, folder, *flags, "--checkpoint", checkpoint)
    # minibatches: Convergence stops them as 'stalled' short of the optimum, or 'converged'
    assert first["stop_reason"] in ("converged", "stalled") and first["epochs"] < 500
    resumed = train(capsys, folder, *flags, "--resume", checkpoint)
    assert resumed["stop_reason"] == first["stop_reason"]
    assert resumed["epochs"] == first["epochs"]
    assert resumed["final_loss"] == first["final_loss"]


def test_verify_checks_a_block_of_the_files_against_memory(folder, capsys):
    assert main(["train", str(folder), "--target", "y", "--epochs", "3", "--verify"]) == 0
    said = capsys.readouterr().out
    assert "verify: the loss and gradient of 1000 sample rows equal the in-memory ones" in said
    whole = folder.parent / "all.csv"
    assert main(["train", str(whole), "--target", "y", "--verify"]) == 2
    assert "--verify checks data read in row blocks" in capsys.readouterr().err
    assert (
        main(["train", str(whole), "--target", "y", "--epochs", "3", "--verify", "--stream"]) == 0
    )
    assert "verify: the loss and gradient of 3000 sample rows" in capsys.readouterr().out


def test_workers_train_on_a_local_cluster(folder, capsys):
    pytest.importorskip("distributed")
    on_two = train(capsys, folder, "--target", "y", "--epochs", "10", "--workers", "2")
    streamed = train(capsys, folder, "--target", "y", "--epochs", "10")
    assert on_two["workers"] == 2
    assert on_two["final_loss"] == pytest.approx(streamed["final_loss"], rel=1e-10)


def test_a_checkpoint_in_a_missing_folder_is_refused(folder, capsys):
    code = main(["train", str(folder), "--target", "y", "--checkpoint", "nowhere/run.ckpt"])
    assert code == 2
    assert "--checkpoint 'nowhere/run.ckpt'" in capsys.readouterr().err


def test_the_progress_bar_counts_the_rows_of_each_pass(folder):
    import io

    from rich.console import Console

    import descend
    from descend.cli.output import ProgressBar

    screen = io.StringIO()
    bar = ProgressBar(Console(file=screen, force_terminal=True, width=100), delay=0.0)
    model = descend.nn.Linear(3, 1)
    rows = descend.scale.stream.FileBlocks(str(folder), "y", features=["a", "b", "c"])
    descend.fit(model, rows, None, epochs=3, tol=None, verbose=False, callbacks=[bar])
    assert "rows" in screen.getvalue() and "3000/3000" in screen.getvalue()


def test_numbers_near_the_float64_limit_stream_as_they_train_in_memory(tmp_path, capsys):
    """A feature of +-1.79e308, read in blocks of 3 rows whose largest number grows: the
    streamed mean and scale are the in-memory ones (no overflow warning, no scale of inf), and
    the model learns and is saved."""
    rng = np.random.default_rng(1)
    a = rng.normal(size=30) * np.repeat([1.0, 1e200, 1.79e308 / 3], 10)  # larger block by block
    a[[12, 25]] = 1.79e308, -1.79e308
    b = rng.normal(size=30)
    df = pd.DataFrame({"a": a, "b": b, "y": 2 * b + np.sign(a) + rng.normal(0, 0.1, 30)})
    df.to_csv(tmp_path / "huge.csv", index=False)
    runs = {}
    for way, flags in (("stream", ["--stream", "--block-size", "3"]), ("memory", [])):
        path = tmp_path / f"{way}.descend"
        runs[way] = train(capsys, tmp_path / "huge.csv", "--target", "y", *flags, "--save", path)
        assert runs[way]["warnings"] == [] and capsys.readouterr().err == ""
        runs[way]["pre"] = descend.load(path).preprocessor_
    streamed, whole = runs["stream"]["pre"], runs["memory"]["pre"]
    for column in ("a", "b"):
        assert streamed.means_[column] == pytest.approx(whole.means_[column], rel=1e-12)
        assert streamed.scales_[column] == pytest.approx(whole.scales_[column], rel=1e-12)
    assert 1e307 < streamed.scales_["a"] < 1.79e308
    assert runs["stream"]["final_loss"] == pytest.approx(runs["memory"]["final_loss"], rel=1e-6)
