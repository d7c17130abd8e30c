"""Builds docs/learning.md from docs/learning.tmpl.md: every output block is the real output
of the python block above it, and every ``$ descend ...`` line is run.

Run from anywhere: ``.venv/bin/python docs/build_learning.py``.
"""

import contextlib, io, re, sys, warnings, os
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.chdir(ROOT)
sys.path.insert(0, os.path.join(ROOT, "src"))
template = open("docs/learning.tmpl.md").read()
namespace = {}
out = []
pos = 0
for m in re.finditer(r"```python\n(.*?)```\n\n```output\n```", template, re.S):
    out.append(template[pos:m.start()])
    code = m.group(1)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(code, namespace)
    out.append(f"```python\n{code}```\n\n```\n{buffer.getvalue().rstrip()}\n```")
    pos = m.end()
out.append(template[pos:])
text = "".join(out)
# shell blocks: ```sh with "$ descend ..." lines, run in a folder holding patients.csv
import shutil, subprocess, tempfile
work = tempfile.mkdtemp()
shutil.copy("src/descend/datasets/patients.csv", work)
env = {**os.environ, "PYTHONPATH": os.path.join(ROOT, "src"), "COLUMNS": "100"}
def shell(m):
    lines = []
    for command in m.group(1).strip().splitlines():
        assert command.startswith("$ descend ")
        args = command[len("$ descend "):].split()
        done = subprocess.run([sys.executable, "-m", "descend", *args], cwd=work, env=env,
                              capture_output=True, text=True)
        lines.append(command)
        lines.append((done.stdout + done.stderr).rstrip())
    return "```\n" + "\n".join(lines) + "\n```"
text = re.sub(r"```sh\n(.*?)```", shell, text, flags=re.S)
open("docs/learning.md", "w").write(text)
