"""The shape of the code: no import circle among a package's modules, no function over 80 lines,
no module over 500 lines (issue 23). Read from the source with ``ast``: nothing is imported."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("transformer_tf", "lstm_tf", "pipeline", "cli_common")
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 500


def _modules():
    """``{dotted name: path}`` of every module of the packages (``pkg`` for ``pkg/__init__.py``)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).glob("*.py")):
            found[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    return found


def _imports(path, modules):
    """The project modules that ``path`` imports, at module level or inside a function."""
    imported = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # "from pkg import mod" imports pkg.mod when that is a module, else a name of pkg
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        imported.update(name for name in names if name in modules)
    return imported


def import_cycles(graph):
    """Every elementary cycle's first found path, as ``[a, b, ..., a]`` lists (depth-first search)."""
    cycles, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return cycles


def test_the_cycle_finder_names_a_cycle():
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_among_the_modules_of_the_packages():
    modules = _modules()
    # a package's __init__ re-exporting its modules is not a circle: the edge that counts is module -> module
    graph = {name: _imports(path, modules) - {name} for name, path in modules.items() if name not in PACKAGES}
    graph = {name: {m for m in imported if m not in PACKAGES} for name, imported in graph.items()}
    assert {"transformer_tf.train", "transformer_tf.model", "lstm_tf.cell"} <= set(graph)  # the scan sees them
    assert "transformer_tf.losses" in graph["transformer_tf.train"]
    cycles = [" -> ".join(cycle) for cycle in import_cycles(graph)]
    assert cycles == [], "import circle(s): " + "; ".join(cycles)


def _long_functions(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]


@pytest.mark.parametrize("package", PACKAGES)
def test_no_function_over_80_lines(package):
    long = [f for path in sorted((ROOT / package).glob("*.py")) for f in _long_functions(path)]
    assert long == []


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_over_500_lines(package):
    sizes = {path: len(path.read_text(encoding="utf-8").splitlines()) for path in (ROOT / package).glob("*.py")}
    long = sorted(f"{path.relative_to(ROOT)} ({n} lines)" for path, n in sizes.items() if n > MAX_MODULE_LINES)
    assert long == []
