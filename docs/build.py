"""Builds README.md and docs/learning.md from their templates, so that every output they show is
real: ``python docs/build.py`` (from anywhere; it needs descend's ``cli`` extras, and pandas and
dask for the README's last examples).

A template is Markdown with three kinds of executed parts:

- a ```python block followed by an empty ```output block: the code runs and the output block
  becomes a plain ``` block holding what it printed (stdout);
- a ```sh or ```console block whose every line starts with ``$ ``: each line runs in bash, in a
  scratch folder, with ``descend`` on the PATH (this checkout's, as ``python -m descend``),
  stdout and stderr together; the block keeps its commands, each followed by its output
  (```sh becomes a plain ``` block, ```console stays ```console). ``$ make demo`` shows what
  make prints on a fresh checkout (``make -n -B demo``), then runs ``descend demo``, its last line.
  A shell block with any other line (such as README's opening ``make demo`` / ``make test``)
  is left as it is;
- ``<!-- build: copy SRC DEST -->`` on a line of its own: once the document is built, the file
  SRC (in the scratch folder) is copied to DEST (in the repository), and the line is dropped.
  This is how a picture that a command draws gets into docs/.

Before the documents, the build runs the browser tests that take README's pictures of pages
(SCREENSHOTS: the report and the playground, in headless Chromium) and puts their screenshots
in docs/, so the pictures are those of the tested pages as they are now; it stops if a test
fails or is skipped (no Chromium).

The scratch folder holds a copy of src/descend/datasets/patients.csv, and whatever the
document's own commands write there (README's session makes its CSV files with head, tail and
awk, in the order a reader would). Commands see relative paths only, so no temporary path can
end up in a document; the build checks that, and that no output holds a traceback.
"""

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "src")

# (template, output, python blocks' working folder, do python blocks share one namespace?)
# learning.md's python blocks build on each other and write their pictures into docs/; the
# README's blocks must each run on their own, as a reader would paste them.
DOCUMENTS = [
    ("docs/README.tmpl.md", "README.md", "scratch", False),
    ("docs/learning.tmpl.md", "docs/learning.md", "root", True),
]

# README's pictures of pages: the screenshot each browser test keeps (tests/browser.py)
SCREENSHOTS = {
    "report.png": "tests/understand/test_report.py::test_the_report_in_chromium",
    "playground.png": "tests/playground/test_page.py::test_the_playground_in_chromium",
}

BLOCK = re.compile(
    r"```python\n(?P<code>.*?)```\n\n```output\n```"
    r"|```(?P<lang>sh|console)\n(?P<commands>(?:\$ [^\n]*\n)+)```"
    r"|^<!-- build: copy (?P<copy_src>\S+) (?P<copy_dest>\S+) -->\n",
    re.S | re.M,
)


def shell_env(bin_dir):
    return {
        **os.environ,
        "PYTHONPATH": SRC,
        "COLUMNS": "100",
        "LC_ALL": "C",
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
    }


def run_shell(command, scratch, env):
    if command == "make demo":  # what make prints on a fresh checkout, then the demo itself
        recipe = subprocess.run(
            ["make", "--no-print-directory", "-n", "-B", "demo", "PYTHON=python3"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert recipe.rstrip().endswith("descend demo"), recipe
        return recipe + run_shell("descend demo", scratch, env)
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=scratch,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return done.stdout


def build(template_path, output_path, python_cwd, shared, scratch, env):
    with open(os.path.join(ROOT, template_path)) as f:
        template = f.read()
    namespace = {}
    copies = []
    out = []
    pos = 0
    for m in BLOCK.finditer(template):
        out.append(template[pos : m.start()])
        pos = m.end()
        if m.group("code") is not None:
            code = m.group("code")
            buffer = io.StringIO()
            os.chdir(scratch if python_cwd == "scratch" else ROOT)
            with contextlib.redirect_stdout(buffer), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(code, namespace if shared else {"__name__": "__main__"})
            os.chdir(ROOT)
            out.append(f"```python\n{code}```\n\n```\n{buffer.getvalue().rstrip()}\n```")
        elif m.group("commands") is not None:
            lines = []
            for line in m.group("commands").splitlines():
                lines.append(line)
                lines.append(run_shell(line[2:], scratch, env).rstrip("\n"))
            fence = "```console" if m.group("lang") == "console" else "```"
            text = "\n".join(line for line in lines if line)
            out.append(f"{fence}\n{text}\n```")
        else:
            copies.append((m.group("copy_src"), m.group("copy_dest")))
    out.append(template[pos:])
    text = "".join(out)
    for leak in (scratch, os.path.realpath(scratch), ROOT, tempfile.gettempdir() + os.sep):
        assert leak not in text, f"{output_path} would show the path {leak}"
    assert "Traceback" not in text, f"{output_path} would show a traceback"
    with open(os.path.join(ROOT, output_path), "w") as f:
        f.write(text)
    for src, dest in copies:
        shutil.copyfile(os.path.join(scratch, src), os.path.join(ROOT, dest))


def take_screenshots():
    """Run the browser tests of SCREENSHOTS and copy their screenshots into docs/."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as shots:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, SRC])}
        env["DESCEND_TEST_ARTIFACTS"] = shots
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"]
            + list(SCREENSHOTS.values()),
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        missing = [name for name in SCREENSHOTS if not os.path.exists(os.path.join(shots, name))]
        if done.returncode != 0 or missing:
            sys.exit(
                "README's screenshots come from the browser tests, which did not all pass "
                f"(pytest's exit status {done.returncode}; missing: {missing or 'none'}):\n"
                + done.stdout[-3000:]
            )
        for name in SCREENSHOTS:
            shutil.copyfile(os.path.join(shots, name), os.path.join(ROOT, "docs", name))
    print(f"Took {', '.join(SCREENSHOTS)} in {time.perf_counter() - start:.1f} s")


def main():
    sys.path.insert(0, SRC)
    with tempfile.TemporaryDirectory() as tools:
        bin_dir = os.path.join(tools, "bin")
        os.mkdir(bin_dir)
        shim = os.path.join(bin_dir, "descend")
        with open(shim, "w") as f:
            f.write(f'#!/bin/sh\nexec "{sys.executable}" -m descend "$@"\n')
        os.chmod(shim, 0o755)
        env = shell_env(bin_dir)
        take_screenshots()
        for template, output, python_cwd, shared in DOCUMENTS:
            start = time.perf_counter()
            with tempfile.TemporaryDirectory() as scratch:
                shutil.copy(os.path.join(SRC, "descend/datasets/patients.csv"), scratch)
                build(template, output, python_cwd, shared, scratch, env)
            print(f"Built {output} from {template} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
