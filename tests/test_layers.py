"""The shape of the code: each layer imports only the layers below it, no import cycle but
the engine's own, no function over 100 lines, no module over 600, and the tests mirror the
source: each module has a test file of its own (README, design notes)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import descend

SRC = Path(descend.__file__).parent

BASE = {"errors", "_validation", "files", "interrupts", "_version", "datasets"}
"""Modules every layer may import; they import only each other."""
ALLOWED = {
    "base": set(),
    "engine": {"engine"},
    "data": {"data"},
    "learn": {"engine", "data", "learn"},
    "understand": {"engine", "data", "learn", "understand"},
    "scale": {"engine", "data", "learn", "scale"},
    "models": {"engine", "data", "learn"},
    "train": {"engine", "data", "learn", "understand", "scale"},
    "schema": {"engine", "data", "learn", "understand", "models", "schema"},
    "estimators": {"engine", "data", "learn", "understand", "scale", "models", "train",
                   "schema"},
    "io": {"engine", "data", "learn", "understand", "models", "schema", "estimators"},
    "playground": {"engine", "data", "learn", "understand", "scale", "models", "train",
                   "schema", "estimators", "io", "playground"},
    "cli": {"engine", "data", "learn", "understand", "scale", "models", "train", "schema",
            "estimators", "io", "playground", "cli"},
}  # fmt: skip
"""What each layer may import besides the base modules (a top-level module is its own layer)."""
FACES = {"__init__", "__main__"}
"""The package's face: it hands the public names on, from every layer."""


def modules() -> dict[str, Path]:
    """Every module of descend by dotted name under descend: 'learn.loop', 'train', ..."""
    found = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


FACE = "__init__"
"""The package itself (``import descend``, ``from descend import fit``, ``from .. import fit``):
the top of the graph, which only the face may stand on."""


def layer(module: str) -> str:
    if module in FACES:
        return "face"
    head = module.split(".")[0]
    return "base" if head in BASE else head


def _resolve(dotted: list[str], known: dict[str, Path]) -> str:
    """The module a dotted name lives in: itself, or the nearest module above it (a name
    defined in a module, or handed on by a package); the package's face when none is."""
    name = ".".join(dotted)
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or FACE


def _imported(node: ast.AST, package: list[str]) -> list[list[str]]:
    """The dotted names under descend that one node imports: import statements, and
    ``importlib.import_module`` / ``__import__`` called with a string."""
    if isinstance(node, ast.ImportFrom):
        if node.level:
            target = package[: len(package) - (node.level - 1)]
        elif node.module == "descend" or (node.module or "").startswith("descend."):
            target = []
        else:
            return []
        target = [*target, *(node.module.split(".") if node.module else [])]
        if not node.level:
            target = target[1:]  # the leading "descend"
        return [[*target, alias.name] for alias in node.names]
    if isinstance(node, ast.Import):
        return [a.name.split(".")[1:] for a in node.names if a.name.split(".")[0] == "descend"]
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        func = node.func
        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        name = node.args[0].value
        if called in ("import_module", "__import__") and isinstance(name, str):
            if name.startswith("."):  # relative to the calling module's package
                level = len(name) - len(name.lstrip("."))
                return [[*package[: len(package) - (level - 1)], *name.lstrip(".").split(".")]]
            if name.split(".")[0] == "descend":
                return [name.split(".")[1:]]
    return []


def imports(module: str, path: Path) -> set[str]:
    """The descend modules ``module`` imports, anywhere in its file (functions too), through
    the package itself included (then ``FACE``)."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    known = modules()
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        found.update(_resolve(dotted, known) for dotted in _imported(node, package))
    return found - {module}


GRAPH = {m: imports(m, p) for m, p in modules().items() if m.split(".")[-1] not in FACES}


def climbing(module: str, imported: set[str]) -> list[str]:
    """What ``module`` imports from above or beside its layer (the package's face included)."""
    mine = layer(module)
    if mine == "base":
        return sorted(m for m in imported if layer(m) != "base")
    return sorted(m for m in imported if layer(m) not in ALLOWED[mine] | {"base", mine})


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_no_module_imports_a_layer_above_it(module):
    found = climbing(module, GRAPH[module])
    assert not found, f"{module} ({layer(module)}) imports {found}, above or beside its layer"


def test_no_import_cycle_but_the_engines_own():
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(m: str) -> None:  # Tarjan's strongly connected components
        index[m] = low[m] = len(index)
        stack.append(m)
        for n in GRAPH.get(m, ()):
            if n not in GRAPH:
                continue
            if n not in index:
                visit(n)
                low[m] = min(low[m], low[n])
            elif n in stack:
                low[m] = min(low[m], index[n])
        if low[m] == index[m]:
            component = []
            while True:
                n = stack.pop()
                component.append(n)
                if n == m:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for m in GRAPH:
        if m not in index:
            visit(m)
    assert [c for c in cycles if {layer(m) for m in c} != {"engine"}] == []


@pytest.mark.parametrize(
    ("line", "seen"),
    [
        ("from ..understand.diagnose import diagnose", "understand.diagnose"),
        ("from descend.understand import diagnose", "understand.diagnose"),
        ("import descend.understand.rates as rates", "understand.rates"),
        ("from .. import fit", FACE),  # a public name: through the package's face
        ("from descend import diagnose", FACE),
        ("import descend", FACE),
        ("importlib.import_module('descend.understand.diagnose')", "understand.diagnose"),
        ("import_module('..understand.runs', __package__)", "understand.runs"),
        ("__import__('descend.train')", "train"),
    ],
)
def test_the_rule_sees_a_climbing_import(tmp_path, line, seen):
    fake = tmp_path / "loop.py"
    fake.write_text(f"from .. import interrupts\n\n\ndef later():\n    {line}\n")
    found = imports("learn.loop", fake)
    assert found == {"interrupts", seen}
    assert climbing("learn.loop", found) == [seen]


def test_the_rule_lets_a_layer_import_itself_and_below(tmp_path):
    fake = tmp_path / "runs.py"
    fake.write_text("from ..learn.training import train\nfrom . import diagnose\nimport os\n")
    found = imports("understand.runs", fake)
    assert found == {"learn.training", "understand.diagnose"}
    assert climbing("understand.runs", found) == []


SPLIT_UNDER_WAY: set[str] = set()
"""Modules being split on a branch of their own; the mark goes when it lands."""


@pytest.mark.parametrize(
    "module",
    [
        pytest.param(m, marks=pytest.mark.xfail(strict=True, reason="split under way"))
        if m in SPLIT_UNDER_WAY
        else m
        for m in sorted(modules())
    ],
)
def test_functions_fit_on_a_screen_and_modules_hold_one_job(module):
    path = modules()[module]
    text = path.read_text()
    assert text.count("\n") <= 600, f"{module} has {text.count(chr(10))} lines (at most 600)"
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > 100
    ]
    assert not long, f"{module}: {long}"


# ----- the library names parameters; only the command line names flags ---------------------
CLI_WORDS = re.compile(
    r"(?<![\w-])--[a-z][a-z-]*"  # a flag: --impute, --save
    r"|\bdescend (?:train|predict|evaluate|sweep|explain|report|demo)\b"  # a command
)
"""What only ``cli/`` may say (the playground's name, "descend playground", is its title)."""


def cli_words(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, words) for each flag or command in a string of ``module`` (docstrings aside:
    documentation may point at the command line)."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, match.group(0))
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and id(node) not in docstrings
        for match in CLI_WORDS.finditer(node.value)
    ]  # fmt: skip


def test_no_string_outside_the_command_line_names_a_flag_or_a_command():
    found = {
        (module, words): line
        for module, path in modules().items()
        if layer(module) != "cli"
        for line, words in cli_words(module, path)
    }
    assert sorted(set(found)) == [], "name the parameter; cli/ translates"


def test_the_scan_sees_flags_and_commands_in_any_string(tmp_path):
    fake = tmp_path / "m.py"
    fake.write_text(
        '"""Docs may say ``descend train --save``."""\n'
        'A = "fill them in (command line: --impute mean)"\n'
        'def f():\n    raise ValueError(f"run `descend predict` on {1}")\n'
        'B = "a-b --> c, x--y, ---"\n'
    )
    assert cli_words("fake", fake) == [(2, "--impute"), (4, "descend predict")]


# ----- tests mirror the source folders: each module has a test file of its own -----------------
TESTS = Path(__file__).parent

NOT_MIRRORED = {
    "_version": "one line, the version string; tests/cli/test_main.py checks --version shows it",
}
"""Modules without a test file of their own, and why. (A package's __init__ that hands on the
names of its modules needs none; a package that is one file, like datasets, is a module.)"""


def mirror(module: str, tests: Path = TESTS) -> Path:
    """The test file of descend.<folders>.<name>: tests/<folders>/test_<name>.py, the name
    without leading or trailing underscores (_validation: test_validation.py, __main__:
    test_main.py)."""
    *folders, name = module.split(".")
    return tests.joinpath(*folders, f"test_{name.strip('_')}.py")


def unmirrored(known: dict[str, Path], tests: Path = TESTS) -> list[str]:
    """The modules of ``known`` (as ``modules()`` gives them) without their test file."""
    return sorted(
        m
        for m, path in known.items()
        if m != FACE
        and not (path.name == "__init__.py" and any(o.startswith(m + ".") for o in known))
        and not mirror(m, tests).exists()
    )


def test_each_module_has_a_test_file_of_its_own():
    assert [m for m in unmirrored(modules()) if m not in NOT_MIRRORED] == []


def test_a_module_left_out_is_one_without_its_test_file_still():
    assert sorted(NOT_MIRRORED) == [m for m in unmirrored(modules()) if m in NOT_MIRRORED]


def test_the_mirror_rule_sees_a_module_without_its_test_file(tmp_path):
    src, tests = tmp_path / "src", tmp_path / "tests"
    for name in (
        "__init__",
        "__main__",
        "_validation",
        "learn/__init__",
        "learn/loop",
        "learn/callbacks/__init__",
        "learn/callbacks/schedule",
        "datasets/__init__",
    ):
        (src / f"{name}.py").parent.mkdir(parents=True, exist_ok=True)
        (src / f"{name}.py").write_text("")
    for name in ("test_main", "test_validation", "learn/test_loop"):
        (tests / f"{name}.py").parent.mkdir(parents=True, exist_ok=True)
        (tests / f"{name}.py").write_text("")
    known = {
        ".".join(p.relative_to(src).with_suffix("").parts).removesuffix(".__init__") or FACE: p
        for p in src.rglob("*.py")
    }
    assert unmirrored(known, tests) == ["datasets", "learn.callbacks.schedule"]
    assert mirror("learn.callbacks.schedule", tests) == tests / "learn/callbacks/test_schedule.py"
