"""Importing a library module changes no global state: the caller (a CLI's `main`, a notebook)
chooses the matplotlib backend and TensorFlow's log level."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLOTTING_AND_CLI_MODULES = (
    "transformer_tf.plot",
    "pipeline.plots",
    "pipeline.cli",
    "transformer_tf.cli",
    "lstm_tf.cli",
)


@pytest.mark.slow  # a fresh interpreter that imports TensorFlow: ~15 s here
def test_importing_the_plotting_and_cli_modules_keeps_the_callers_backend_and_environment():
    probe = (
        "import importlib, json, os, matplotlib\n"
        f"for name in {PLOTTING_AND_CLI_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps({'backend': matplotlib.get_backend(),\n"
        "                  'log_level': os.environ.get('TF_CPP_MIN_LOG_LEVEL')}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env.update(MPLBACKEND="svg", PYTHONPATH=str(ROOT))  # svg: a backend none of the modules would pick
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    state = json.loads(result.stdout.strip().splitlines()[-1])
    assert state == {"backend": "svg", "log_level": None}


def _imported_packages(package):
    """The top-level packages that any module of ``package`` imports (at any depth in the code)."""
    found = set()
    for path in (ROOT / package).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", ["lstm_tf", "pipeline"])
def test_the_lstm_and_pipeline_packages_never_import_the_transformer_package(package):
    # the package graph may grow transformer_tf -> lstm_tf, never the other way round
    imported = _imported_packages(package)
    assert "numpy" in imported  # the scan does see the package's imports
    assert "transformer_tf" not in imported
