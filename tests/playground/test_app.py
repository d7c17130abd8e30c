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
from descend.playground.app import MAX_BODY, create_app
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


@pytest.mark.parametrize("host", ["attacker.example", f"127.0.0.1.attacker.example:{PORT}",
                                  "localhost:1", "127.0.0.1", f"127.0.0.1:{PORT + 1}"])  # fmt: skip
def test_a_request_for_another_host_or_port_is_refused(client, host) -> None:
    answer = client.get("/", headers={"host": host})
    assert answer.status_code == 400
    assert answer.json()["error"] == (
        f"This playground answers only requests for 127.0.0.1:{PORT} or localhost:{PORT}; this "
        f"one's Host is {host!r}. Open http://127.0.0.1:{PORT}/."
    )
    assert client.get("/", headers={"host": f"LocalHost:{PORT}"}).status_code == 200


@pytest.mark.parametrize("origin", ["https://evil.example", "null", f"http://127.0.0.1:{PORT}.x",
                                    f"https://127.0.0.1:{PORT}", "http://localhost:1"])  # fmt: skip
def test_a_request_from_another_sites_page_is_refused(client, origin) -> None:
    before = len(client.app.state.trainer.runs)
    answer = client.post("/api/train", data={"epochs": "5"}, headers={"origin": origin})
    assert answer.status_code == 403
    assert answer.json()["error"] == (
        f"This playground takes requests only from its own page (http://127.0.0.1:{PORT}/); "
        f"this one came from Origin {origin!r}."
    )
    assert len(client.app.state.trainer.runs) == before  # nothing was queued
    assert client.get("/api/runs/r1", headers={"origin": origin}).status_code == 403
    for own in (f"http://127.0.0.1:{PORT}", f"http://localhost:{PORT}"):
        answer = client.post("/api/train", data={"epochs": "5"}, headers={"origin": own})
        assert answer.status_code == 202


def test_a_train_body_over_max_body_bytes_is_refused_sent_whole_or_in_chunks(client) -> None:
    def chunks(body: bytes):  # no length known in advance: sent Transfer-Encoding: chunked
        yield from (body[k : k + 1000] for k in range(0, len(body), 1000))

    at_most, over = b"x=" + b"1" * (MAX_BODY - 2), b"x=" + b"1" * (MAX_BODY - 1)
    for send in (lambda body: body, chunks):
        answer = client.post("/api/train", content=send(at_most))  # read, then checked
        assert answer.status_code == 400 and "no parameter 'x'" in answer.json()["error"]
        answer = client.post("/api/train", content=send(over))
        assert answer.status_code == 400
        assert answer.json()["error"].startswith(
            "A Train request holds the form's fields, at most 8,192 bytes; this one "
        )


def test_the_server_answers_a_body_too_large_without_reading_the_rest(server) -> None:
    """The server answers before the body is complete: a server that read the whole body first
    would wait for the rest and never answer."""
    post = "POST /api/train HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    status, answer = server.send(post + "Content-Length: 300000000", b"lr=0.1&")
    assert status == 400
    assert answer["error"] == (
        "A Train request holds the form's fields, at most 8,192 bytes; this one declares "
        "300,000,000."
    )
    chunk = b"400\r\n" + b"x" * 1024 + b"\r\n"  # 1 KiB chunks, and no last chunk
    status, answer = server.send(post + "Transfer-Encoding: chunked", chunk * 16)
    assert status == 400
    assert answer["error"].startswith("A Train request holds the form's fields, at most 8,192 "
                                      "bytes; this one sent more (")  # fmt: skip


def test_alpha_goes_to_the_estimator(client, table) -> None:
    answer = client.post("/api/train", data={"alpha": "0.5", "epochs": "30"})
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
