"""The playground's page in a real Chromium: settings in the URL, Train, live plots, arithmetic."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlparse

import pandas as pd

import descend
from descend.cli.main import main
from tests.browser import watched_page

SETTINGS = (
    "features=creatinine,age&model=linear&optimizer=sgd&lr=0.3&batch_size=full&epochs=200&alpha=0"
)


def train_json(capsys, data: str, url: str) -> dict:
    """`descend train --json` with the settings in the page's URL."""
    settings = dict(parse_qsl(urlparse(url).query))
    assert settings.pop("alpha") == "0"
    flags = [f"--{name.replace('_', '-')}={value}" for name, value in settings.items()]
    capsys.readouterr()
    assert main(["train", data, "--target", "inr", "--json", *flags]) == 0
    return json.loads(capsys.readouterr().out)


def weights_per_epoch(data: str) -> list[list[float]]:
    """(weight of creatinine, bias) of descend.Regressor trained with SETTINGS: at the start,
    then after each epoch."""
    points: list[list[float]] = []

    class Record(descend.Callback):
        def on_train_begin(self, run) -> None:
            points.append([float(run.model.weight.data[0, 0]), float(run.model.bias.data[0])])

        on_epoch_end = on_train_begin

    table = pd.read_csv(data)
    model = descend.Regressor(model="linear", optimizer="sgd", lr=0.3, batch_size=None,
                              epochs=200, alpha=0.0, callbacks=(Record(),))  # fmt: skip
    model.fit(table[["creatinine", "age"]], table["inr"])
    return points


def final_loss(page) -> float:
    page.wait_for_selector("#final-loss")
    return float(page.inner_text("#final-loss"))


def test_the_playground_in_chromium(browser, server, capsys) -> None:
    data = server.first_line.split(" on ", 1)[1].split(" (target")[0]
    seen = watched_page(browser, width=1300, height=1000)
    page = seen.page
    page.goto(server.url + "?" + SETTINGS)  # a link with settings trains at once
    reached = final_loss(page)
    assert page.url.endswith("?" + SETTINGS)  # the page trained the link's settings
    cli = train_json(capsys, data, page.url)
    assert reached == cli["final_loss"]  # to the last bit
    run = page.evaluate("current")
    result = server.call(f"/api/runs/{run}")[1]
    assert page.evaluate("document.getElementById('loss').data[0].y") == result["loss"]
    path = page.evaluate("(d => d[d.length - 1])(document.getElementById('path').data)")
    weights = weights_per_epoch(data)  # the start, then the weights after each epoch
    assert len(weights) == cli["epochs"] + 1
    assert [list(p) for p in zip(path["x"], path["y"])] == weights  # to the last bit
    assert "converged" in page.inner_text("#diagnosis")

    page.click("#arithmetic-button")
    page.wait_for_function("document.getElementById('arithmetic').textContent.includes('Step 4')")
    assert "w_creatinine" in page.inner_text("#arithmetic")

    page.fill("#lr", "0.05")  # change a setting and train again: the URL follows
    page.click("#train")
    page.wait_for_function("!document.getElementById('final-loss')")
    slower = final_loss(page)
    assert "lr=0.05" in page.url
    cli = train_json(capsys, data, page.url)
    assert slower == cli["final_loss"]
    page.click("#arithmetic-button")
    page.wait_for_function("document.getElementById('arithmetic').textContent.includes('Step 4')")
    assert "Descent path: weight of creatinine" in page.locator("#path .gtitle").text_content()
    print("screenshot:", seen.screenshot("playground.png"))

    page.fill("#lr", "-1")
    page.click("#train")
    page.wait_for_function("document.getElementById('error').textContent.length > 0")
    assert "The 'lr' parameter of the playground must be a float in (0, 100]" in page.inner_text(
        "#error"
    )

    assert all(url.startswith(server.url) for url in seen.requests), seen.requests
    # the one error: Chromium's line for the Train it refused, lr=-1
    assert seen.errors == [
        "Failed to load resource: the server responded with a status of 400 (Bad Request) "
        f"({server.url}api/train)"
    ]
    page.close()
