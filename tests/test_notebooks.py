"""Every notebook in notebooks/ runs top to bottom (quick mode) and shows its plots.

Each ``notebooks/*.ipynb`` is found automatically (a notebook dropped in later is tested
too) and executed with nbclient in a fresh ``python3`` kernel whose working directory is
``notebooks/``, as when Jupyter opens it. A cell ``QUICK = True`` is injected right after
the cell tagged ``parameters``, as papermill would, so the run uses small sizes.

Each notebook is a jupytext pair: ``NN_name.py`` (percent format, the source) and
``NN_name.ipynb``; a test checks that both hold the same cells.
"""

import json
import os
import re
import time
from pathlib import Path

import jupytext
import nbformat
import pytest
from jupytext.compare import NotebookDifference, compare_notebooks

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
SOURCES = sorted(NOTEBOOKS_DIR.glob("*.py"))  # their jupytext percent-format sources
SYNC = ".venv/bin/jupytext --sync notebooks/*.py"
CELL_TIMEOUT_S = 300
QUICK_CELL = "QUICK = True  # injected by tests/test_notebooks.py"


def _ids(paths):
    return [p.stem for p in paths]


def inject_quick(nb):
    """Insert the quick-mode cell after the ``parameters`` cell; fail if there is none."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            injected = nbformat.v4.new_code_cell(QUICK_CELL, id="injected-parameters")
            injected.metadata["tags"] = ["injected-parameters"]
            nb.cells.insert(i + 1, injected)
            return nb
    raise AssertionError(
        "no cell tagged 'parameters': the notebook needs a first code cell `QUICK = False` tagged parameters"
    )


def test_there_are_notebooks_to_run():
    assert {
        "01_multi_head_attention",
        "02_nlp_prerequisites",
        "03_lstm_forward_backprop",
        "04_data_mining_process_flow",
        "05_curse_of_dimensionality",
        "06_bias_variance",
    } <= set(_ids(NOTEBOOKS))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_committed_without_outputs_and_with_a_quick_parameter(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "strip the outputs before committing"
    assert "parameters" in code[0].metadata.get("tags", []) and "QUICK = False" in code[0].source
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_every_notebook_is_paired_with_a_jupytext_source():
    assert _ids(NOTEBOOKS) == _ids(SOURCES), f"a notebook or source without its pair: run `{SYNC}`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_holds_the_same_cells_as_its_jupytext_source(path):
    source = path.with_suffix(".py")
    try:
        compare_notebooks(jupytext.read(source), nbformat.read(path, as_version=4), fmt="py:percent")
    except NotebookDifference as err:
        pytest.fail(f"{source.name} and {path.name} differ; after editing either, run `{SYNC}`:\n{err}", pytrace=False)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs_in_quick_mode_and_draws_its_plots(path, tmp_path):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = inject_quick(nbformat.read(path, as_version=4))
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS_DIR)}},
    )
    env = {"TF_CPP_MIN_LOG_LEVEL": "2", "MPLCONFIGDIR": str(tmp_path)}
    start = time.perf_counter()
    try:
        with _environment(env):
            client.execute()
    except CellExecutionError as err:
        plain = re.sub(r"\x1b\[[0-9;]*m", "", str(err))  # the kernel's traceback is coloured
        pytest.fail(f"{path.name} failed in quick mode:\n{plain}", pytrace=False)
    seconds = time.perf_counter() - start
    images = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type in ("display_data", "execute_result") and "image/png" in o.get("data", {})
    ]
    assert images, f"{path.name} displayed no figure"
    record = os.environ.get("NOTEBOOK_TIMINGS")  # e.g. runs/notebook_timings.jsonl, to measure the runtimes
    if record:
        with open(record, "a") as f:
            f.write(
                json.dumps(
                    {
                        "notebook": path.name,
                        "quick": True,
                        "seconds": round(seconds, 1),
                        "figures": len(images),
                    }
                )
                + "\n"
            )


class _environment:
    """Set environment variables for the kernel the client starts, and restore them after."""

    def __init__(self, values):
        self.values, self.saved = values, {}

    def __enter__(self):
        self.saved = {k: os.environ.get(k) for k in self.values}
        os.environ.update(self.values)

    def __exit__(self, *exc):
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
