"""Importing a library module changes no global state: the caller (a CLI's `main`, a notebook)
chooses the matplotlib backend and TensorFlow's log level. The import graph follows the reading
order each package's docstring gives (data → model → training → inference → plots → serving), and only
transformer_tf may build on the other packages."""

import ast
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from processes import child_env  # tests/processes.py

ROOT = Path(__file__).resolve().parents[1]
PLOTTING_AND_CLI_MODULES = (
    "transformer_tf.plot",
    "pipeline.plots",
    "pipeline.cli",
    "transformer_tf.cli",
    "lstm_tf.cli",
    "cli_common",
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
    env = child_env(drop=("TF_CPP_MIN_LOG_LEVEL",), MPLBACKEND="svg")  # svg: a backend none of the modules would pick
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    state = json.loads(result.stdout.strip().splitlines()[-1])
    assert state == {"backend": "svg", "log_level": None}


def test_the_study_store_and_the_package_roots_import_without_tensorflow():
    # lstm_tf's names load on first use: a worker or report that only needs the Optuna store
    # (lstm_tf.search) does not pay for TensorFlow's start-up
    probe = "import sys, lstm_tf, lstm_tf.search, lstm_tf.errors; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0 and result.stdout.split() == ["False"], result.stderr[-2000:]


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


STAGES = ("data", "model", "training", "inference", "plots", "serving")


def _reading_order():
    """``{module: stage index}`` from the reading order in ``transformer_tf/__init__.py``'s docstring."""
    import transformer_tf

    order, stage = {}, None
    for line in transformer_tf.__doc__.splitlines():
        if line.strip() in STAGES:
            stage = STAGES.index(line.strip())
        elif not line.startswith("    "):
            stage = None  # the staged list has ended
        named = re.match(r"\s+- :mod:`~transformer_tf\.(\w+)`", line)
        if named and stage is not None:
            order[named.group(1)] = stage
    return order


def test_no_transformer_module_imports_a_later_stage_of_the_reading_order():
    order = _reading_order()
    assert set(order.values()) == set(range(len(STAGES)))
    assert {"data", "model", "train", "translate", "plot"} <= set(order)
    backwards = []
    for module, stage in order.items():
        tree = ast.parse((ROOT / "transformer_tf" / f"{module}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):  # lazy imports inside functions count too
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("transformer_tf."):
                imported = node.module.split(".")[1]
                if order.get(imported, -1) > stage:
                    backwards.append(f"{module} ({STAGES[stage]}) imports {imported} ({STAGES[order[imported]]})")
    assert backwards == []


@pytest.mark.parametrize("package", ["transformer_tf", "lstm_tf", "pipeline"])
def test_the_package_docstring_names_every_module(package):
    doc = importlib.import_module(package).__doc__
    modules = {path.stem for path in (ROOT / package).glob("*.py")} - {"__init__"}
    assert modules - set(re.findall(rf"{package}\.(\w+)", doc)) == set(), f"missing from {package}/__init__.py"


# The names a reader of the articles imports from the package root; each must import.
TRANSFORMER_TF_PUBLIC_NAMES = (
    "CustomSchedule",
    "Decoder",
    "DecoderLayer",
    "Encoder",
    "EncoderLayer",
    "MultiHeadAttention",
    "PAD_ID",
    "TrainConfig",
    "Transformer",
    "TransformerTFError",
    "Translator",
    "create_look_ahead_mask",
    "create_masks",
    "create_padding_mask",
    "embedding_classifier",
    "embedding_map",
    "one_hot_encode",
    "perplexity",
    "plot_attention_heads",
    "plot_attention_overview",
    "plot_attention_weights",
    "point_wise_feed_forward_network",
    "positional_encoding",
    "scaled_dot_product_attention",
    "sentence_attention",
    "show_attention",
)


def test_the_transformer_package_root_gives_every_public_name():
    import transformer_tf
    from transformer_tf import Translator
    from transformer_tf.translate import Translator as home

    assert Translator is home
    assert sorted(transformer_tf.__all__) == sorted(TRANSFORMER_TF_PUBLIC_NAMES)
    missing = [name for name in TRANSFORMER_TF_PUBLIC_NAMES if getattr(transformer_tf, name, None) is None]
    assert missing == []
    with pytest.raises(AttributeError, match="no_such_name"):
        transformer_tf.no_such_name  # noqa: B018


def test_the_transformer_package_root_imports_without_tensorflow():
    probe = "import sys, transformer_tf, transformer_tf.config, transformer_tf.cli; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0 and result.stdout.split() == ["False"], result.stderr[-2000:]
