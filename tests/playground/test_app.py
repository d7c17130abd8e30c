"""The playground's server: only its own form and routes; each Train request its own run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import pytest

import descend
from descend.datasets import patients_path
from descend.playground.app import create_app
from tests.playground.server import ROOT, Server

starlette = pytest.importorskip("starlette.testclient", reason="starlette is a cli extra")
PORT = 8123
FEATURES = ["age", "weight", "creatinine"]


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return pd.read_csv(patients_path())


@pytest.fixture(scope="module")
def client(table: pd.DataFrame):
    app = create_app(table, "inr", "regression", "patients.csv", PORT)
    with starlette.TestClient(app, base_url=f"http://127.0.0.1:{PORT}") as test_client:
        yield test_client
    app.state.trainer.close()


def expected(table: pd.DataFrame, features: list[str], **settings) -> list[float]:
    """The losses of what `descend train` trains with these settings."""
    model = descend.Regressor(model="linear", **settings).fit(table[features], table["inr"])
    return model.history_.loss


def test_a_run_is_what_descend_train_trains(client, table) -> None:
    form = {"features": "creatinine,age", "lr": "0.3", "epochs": "80", "batch_size": "full"}
    answer = client.post("/api/train", data=form)
    assert answer.status_code == 202
    run = client.get(answer.json()["result"] + "?wait=1").json()
    assert run["state"] == "done"
    losses = expected(table, ["creatinine", "age"], lr=0.3, epochs=80, batch_size=None)
    assert run["loss"] == losses and run["last_epoch_loss"] == losses[-1]
    assert (
        run["diagnosis"]["verdict"] == "converged"
        and "Diagnosis: converged" in run["diagnosis_text"]
    )

    events = client.get(answer.json()["events"]).text
    blocks = [b for b in events.split("\n\n") if b]
    kinds = [b.split("\n")[0] for b in blocks]
    assert kinds[0] == "event: surface" and kinds[-1] == "event: done"
    streamed = [e for b in blocks if b.startswith("event: epochs")
                for e in json.loads(b.split("data: ", 1)[1])]  # fmt: skip
    assert [e["loss"] for e in streamed] == losses
    model = descend.Regressor(model="linear", lr=0.3, epochs=80, batch_size=None)
    model.fit(table[["creatinine", "age"]], table["inr"])
    last = streamed[-1]["point"]  # the weight of the first feature, and the bias
    assert last == [model.module_.weight.data[0, 0], model.module_.bias.data[0]]

    text = client.get(f"/api/runs/{run['run']}/explain").json()["text"]
    assert f"w_creatinine = {model.module_.weight.data[0, 0]:.6g}" in text
    assert "Step 4 - Weight update" in text


@pytest.mark.parametrize(
    ("method", "path", "data", "status", "words"),
    [
        ("post", "/api/train", {"lr": "-0.1"}, 400, "'lr' parameter of the playground must be"),
        ("post", "/api/train", {"epochs": "1e9"}, 400, "'epochs' parameter of the playground"),
        ("post", "/api/train", {"data": "/etc/passwd"}, 400, "has no parameter 'data'"),
        ("post", "/api/train", {"features": "/etc/passwd"}, 400, "must name distinct columns"),
        ("get", "/?path=../../etc/passwd", None, 400, "has no parameter 'path'"),
        ("get", "/etc/passwd", None, 404, "reads only its data file 'patients.csv'"),
        ("get", "/static/../../../etc/passwd", None, 404, "reads only its data file"),
        ("get", "/patients.csv", None, 404, "serves its page and its own API"),
        ("get", "/api/runs/r999", None, 404, "No run 'r999'"),
        ("get", "/plotly.js?x=1", None, 400, "takes no parameter 'x'"),
        ("get", "/api/train", None, 405, "GET is not accepted at '/api/train'"),
        ("delete", "/", None, 405, "DELETE is not accepted"),
    ],
)
def test_the_server_refuses_everything_but_its_own_form(client, method, path, data, status, words):
    answer = getattr(client, method)(path, **({"data": data} if data else {}))
    assert answer.status_code == status
    assert words in answer.json()["error"]


def test_a_request_for_another_host_is_refused(client) -> None:
    answer = client.get("/", headers={"host": "attacker.example"})
    assert answer.status_code == 400 and "host" in answer.text.lower()


def test_alpha_goes_to_the_estimator_or_is_refused_until_it_takes_one(client, table) -> None:
    answer = client.post("/api/train", data={"alpha": "0.5", "epochs": "30"})
    if "alpha" not in descend.Regressor._get_param_names():  # the L2 penalty is not in yet
        assert answer.status_code == 400
        assert "'alpha' parameter of the playground (the L2 penalty)" in answer.json()["error"]
        return
    run = client.get(answer.json()["result"] + "?wait=1").json()
    # the playground's own defaults (sgd, lr 0.1), not the estimator's (lr='auto' since issue 10)
    losses = expected(table, FEATURES, alpha=0.5, epochs=30, optimizer="sgd", lr=0.1)
    assert run["loss"] == losses


# ----- a real server, as `descend playground` starts it ---------------------------------------
def test_twenty_concurrent_train_requests_each_get_their_own_run(server, table) -> None:
    forms = [
        {"features": ",".join(FEATURES[: 1 + k % 3]), "lr": f"{0.02 * (k + 1):g}",
         "epochs": str(20 + 3 * k), "batch_size": "full" if k % 2 else str(16 + k)}
        for k in range(20)
    ]  # fmt: skip

    def train(form: dict) -> dict:
        status, answer = server.call("/api/train", urlencode(form))
        assert status == 202, answer
        return server.call(answer["result"] + "?wait=1")[1]

    with ThreadPoolExecutor(20) as pool:
        runs = list(pool.map(train, forms))
    assert len({r["run"] for r in runs}) == 20
    for form, run in zip(forms, runs):
        assert run["state"] == "done"
        assert {k: run["settings"][k] for k in form} == form
        batch = None if form["batch_size"] == "full" else int(form["batch_size"])
        losses = expected(table, form["features"].split(","), lr=float(form["lr"]),
                          epochs=int(form["epochs"]), batch_size=batch)  # fmt: skip
        assert run["loss"] == losses


def test_ctrl_c_stops_the_server_cleanly(tmp_path) -> None:
    data = os.path.join(tmp_path, "patients.csv")
    shutil.copy(patients_path(), data)
    running = Server(data, "inr")
    status, answer = running.call("/api/train", urlencode({"epochs": "5000", "lr": "1e-6"}))
    assert status == 202
    code, printed = running.interrupt()
    assert code == 0, printed
    assert "descend playground stopped." in printed and "Traceback" not in printed


def test_the_server_stops_by_itself_when_idle(tmp_path) -> None:
    data = os.path.join(tmp_path, "patients.csv")
    shutil.copy(patients_path(), data)
    running = Server(data, "inr", "--idle-timeout", "0.5")
    out, _ = running.process.communicate(timeout=120)
    assert running.process.returncode == 0
    assert "descend playground stopped (idle)." in out


def test_a_bad_start_is_one_line(tmp_path) -> None:
    data = os.path.join(tmp_path, "patients.csv")
    shutil.copy(patients_path(), data)
    done = subprocess.run(
        [sys.executable, "-m", "descend", "playground", data, "--target", "height", "--no-browser"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.path.join(ROOT, "src")},
    )  # fmt: skip
    assert done.returncode == 2 and done.stderr.startswith("descend: error:")
    assert "height" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_two_classes_train_logistic_regression_with_its_path_and_arithmetic(table) -> None:
    risky = table.assign(risk=np.where(table["inr"] > 2.3, "high", "normal")).drop(columns="inr")
    app = create_app(risky, "risk", "binary", "risk.csv", PORT)
    with starlette.TestClient(app, base_url=f"http://127.0.0.1:{PORT}") as client:
        answer = client.post("/api/train", data={"features": "age,creatinine", "epochs": "40"})
        run = client.get(answer.json()["result"] + "?wait=1").json()
        model = descend.Classifier(model="logistic", lr=0.5, epochs=40, batch_size=None)
        model.fit(risky[["age", "creatinine"]], risky["risk"])
        assert run["loss"] == model.history_.loss
        events = client.get(answer.json()["events"]).text
        assert events.count("event: surface") == 2  # at the start and through the final weights
        text = client.get(f"/api/runs/{run['run']}/explain").json()["text"]
        assert "logistic regression" in text and "Step 4" in text
        softmax = client.post("/api/train", data={"model": "softmax", "epochs": "5"}).json()
        client.get(softmax["result"] + "?wait=1")
        refused = client.get(f"/api/runs/{softmax['run']}/explain")
        assert refused.status_code == 400 and "linear or logistic model" in refused.json()["error"]
    app.state.trainer.close()
