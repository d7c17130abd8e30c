"""The playground's page: a form, two live plots, the diagnosis and the arithmetic.

Everything the page loads comes from the playground itself (its HTML and
/plotly.js); the settings live in the page's URL, so a link reproduces a run
(a URL with settings trains as soon as the page opens).
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from ..learn.optim import OPTIMIZERS
from ..understand import figures
from .settings import MAX_EPOCHS, MAX_LR, MODELS


def page_html(
    data_name: str, columns: Sequence[str], target: str, task: str, form: dict[str, str]
) -> str:
    """The page for a table with ``columns``, predicting ``target`` (a ``task``)."""
    setup = {
        "columns": [c for c in columns if c != target],
        "target": target,
        "task": task,
        "models": list(MODELS[task]),
        "optimizers": sorted(OPTIMIZERS),
        "defaults": form,
    }
    return PAGE % {
        "title": html.escape(f"descend playground: {data_name}"),
        "data": html.escape(data_name),
        "target": html.escape(target),
        "task": html.escape(task),
        "max_lr": f"{MAX_LR:g}",
        "max_epochs": MAX_EPOCHS,
        "setup": figures.to_json(setup),
        "style": STYLE,
        "script": SCRIPT,
    }


STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; color: #222; }
header { padding: .6em 1.5em; background: #f3f5f9; border-bottom: 1px solid #dde; }
header h1 { font-size: 1.25em; margin: 0; }
main { display: grid; grid-template-columns: 290px 1fr; gap: 1.2em; padding: 1em 1.5em; }
form label { display: block; margin: .45em 0 .1em; font-weight: 600; font-size: .9em; }
form input[type=text], form input[type=number], form select { width: 100%; box-sizing: border-box; }
fieldset { border: 1px solid #ddd; padding: .3em .6em; }
fieldset label { font-weight: normal; display: inline-block; margin-right: .8em; }
button { margin-top: .8em; padding: .4em 1.2em; font-size: 1em; }
#status { margin: .6em 0; min-height: 1.4em; }
#error { color: #b00; white-space: pre-wrap; }
.plots { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
.plot { height: 400px; }
pre { background: #fafafa; padding: .8em; overflow-x: auto; font-size: .8em; white-space: pre-wrap; }
"""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'">
<title>%(title)s</title>
<link rel="icon" href="data:,">
<style>%(style)s</style>
<script src="/plotly.js"></script>
</head>
<body>
<header><h1>descend playground</h1>
<div>Data: <b>%(data)s</b>, target <b>%(target)s</b> (%(task)s). The server trains; this page
watches.</div></header>
<main>
<form id="form" onsubmit="return false">
  <label>Features</label><fieldset id="features"></fieldset>
  <label for="model">Model</label><select id="model" name="model"></select>
  <label for="optimizer">Optimizer</label><select id="optimizer" name="optimizer"></select>
  <label for="lr">Learning rate (0 to %(max_lr)s)</label>
  <input type="text" id="lr" name="lr">
  <label for="batch_size">Batch size (rows, or full)</label>
  <input type="text" id="batch_size" name="batch_size">
  <label for="epochs">Epochs (at most %(max_epochs)s)</label>
  <input type="number" id="epochs" name="epochs" min="1" max="%(max_epochs)s">
  <label for="alpha">alpha (L2 penalty)</label><input type="text" id="alpha" name="alpha">
  <button id="train" type="button">Train</button>
  <button id="arithmetic-button" type="button">Show the arithmetic</button>
</form>
<div>
  <div id="status">Pick the settings and press Train.</div>
  <div id="error"></div>
  <div class="plots"><div class="plot" id="loss"></div><div class="plot" id="path"></div></div>
  <h3>Diagnosis</h3><pre id="diagnosis">(when the run stops)</pre>
  <h3>The arithmetic</h3><pre id="arithmetic">(press Show the arithmetic)</pre>
</div>
</main>
<script>const SETUP = %(setup)s;</script>
<script>%(script)s</script>
</body>
</html>
"""

SCRIPT = r"""
const $ = (id) => document.getElementById(id);
const FIELDS = ["model", "optimizer", "lr", "batch_size", "epochs", "alpha"];
let current = null, source = null, ORDER = [];

function setUp() {
  for (const name of SETUP.columns) {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox"; box.value = name; box.className = "feature";
    label.appendChild(box); label.appendChild(document.createTextNode(" " + name));
    $("features").appendChild(label);
  }
  for (const [id, names] of [["model", SETUP.models], ["optimizer", SETUP.optimizers]]) {
    for (const name of names) $(id).add(new Option(name, name));
  }
  const query = new URLSearchParams(location.search);
  const value = (name) => query.has(name) ? query.get(name) : SETUP.defaults[name];
  const chosen = value("features").split(",");
  ORDER = [...chosen, ...SETUP.columns.filter((c) => !chosen.includes(c))];  // the link's order
  for (const box of document.querySelectorAll(".feature")) box.checked = chosen.includes(box.value);
  for (const name of FIELDS) $(name).value = value(name);
  $("train").addEventListener("click", train);
  $("arithmetic-button").addEventListener("click", arithmetic);
  resetPlots();
  if ([...query.keys()].length) train();
}

function params() {
  const p = new URLSearchParams();
  const checked = [...document.querySelectorAll(".feature:checked")].map((b) => b.value);
  const features = ORDER.filter((name) => checked.includes(name));
  p.set("features", features.join(","));
  for (const name of FIELDS) p.set(name, $(name).value.trim());
  return p;
}

function resetPlots() {
  const layout = (title, x, y) => ({title: {text: title}, xaxis: {title: {text: x}},
    yaxis: {title: {text: y}}, margin: {l: 60, r: 10, t: 40, b: 45}, template: "plotly_white",
    showlegend: false, hovermode: "closest"});
  Plotly.newPlot("loss", [{type: "scatter", mode: "lines+markers", name: "training loss",
    x: [], y: [], marker: {size: 4},
    hovertemplate: "epoch %{x}<br>loss %{y:.6g}<extra></extra>"}],
    layout("Loss per epoch", "epoch", "loss"), {displaylogo: false, responsive: true});
  Plotly.newPlot("path", [pathTrace([])],
    layout("Descent path: weight of the first feature, and bias", "weight", "bias"),
    {displaylogo: false, responsive: true});
}

function pathTrace(points) {
  return {type: "scatter", mode: "lines+markers", name: "descent path",
    x: points.map((p) => p[0]), y: points.map((p) => p[1]), marker: {size: 5, color: "#1f77b4"},
    hovertemplate: "weight %{x:.4g}, bias %{y:.4g}<extra></extra>"};
}

function say(text) { $("status").textContent = text; }

async function train() {
  const p = params();
  history.replaceState(null, "", "?" + p.toString().replace(/%2C/g, ","));  // readable links
  if (source) source.close();
  $("error").textContent = ""; $("diagnosis").textContent = "(when the run stops)";
  $("arithmetic").textContent = "(press Show the arithmetic)";
  resetPlots();
  say("Sending the settings...");
  const answer = await fetch("/api/train", {method: "POST", body: p});
  const reply = await answer.json();
  if (!answer.ok) { say("Not trained."); $("error").textContent = reply.error; return; }
  current = reply.run;
  const points = [];
  source = new EventSource(reply.events);
  source.addEventListener("surface", (e) => {
    const message = JSON.parse(e.data), surface = message.trace;
    if (!points.length) points.push(message.start);
    Plotly.react("path", [surface, pathTrace(points)], Object.assign({}, $("path").layout, {
      title: {text: "Descent path: weight of " + message.feature + ", and bias"},
      xaxis: {title: {text: "weight"}, range: [surface.x[0], surface.x[surface.x.length - 1]],
              constrain: "domain"},
      yaxis: {title: {text: "bias"}, range: [surface.y[0], surface.y[surface.y.length - 1]],
              scaleanchor: "x", scaleratio: 1, constrain: "domain"}}));
  });
  source.addEventListener("epochs", (e) => {
    const epochs = JSON.parse(e.data);
    Plotly.extendTraces("loss", {x: [epochs.map((r) => r.epoch)], y: [epochs.map((r) => r.loss)]}, [0]);
    const moved = epochs.filter((r) => r.point).map((r) => r.point);
    if (moved.length) {
      points.push(...moved);
      const index = $("path").data.length - 1;
      Plotly.extendTraces("path", {x: [moved.map((q) => q[0])], y: [moved.map((q) => q[1])]}, [index]);
    }
    say("Training: epoch " + epochs[epochs.length - 1].epoch + ", loss " + epochs[epochs.length - 1].loss);
  });
  source.addEventListener("done", (e) => { source.close(); finish(JSON.parse(e.data)); });
  source.onerror = () => { source.close(); say("Lost the connection to the playground."); };
}

function finish(run) {
  if (run.state !== "done") { say("The run failed."); $("error").textContent = run.error; return; }
  if (run.log_scale) Plotly.relayout("loss", {"yaxis.type": "log"});
  $("status").innerHTML = "";
  const words = document.createElement("span");
  words.textContent = "Done: " + run.stop_reason + " after " + run.epochs + " epochs; final loss ";
  const loss = document.createElement("b");
  loss.id = "final-loss"; loss.textContent = String(run.final_loss);
  $("status").append(words, loss);
  $("diagnosis").textContent = (run.stop_message ? run.stop_message + "\n" : "") + run.diagnosis_text;
}

async function arithmetic() {
  if (!current) { $("arithmetic").textContent = "Train a model first."; return; }
  const answer = await fetch("/api/runs/" + current + "/explain");
  const reply = await answer.json();
  $("arithmetic").textContent = answer.ok ? reply.text : reply.error;
}

setUp();
"""
