"""The environment of the child processes the tests start (a command, a worker, a fresh interpreter).

One rule for every test file: the child imports this checkout first (``PYTHONPATH``), whatever
the parent's ``PYTHONPATH`` was, and inherits the rest of this process's environment, including
the ``TF_CPP_MIN_LOG_LEVEL`` that conftest sets, except what a test drops (the tests that check
the commands' own choice of log level drop it).
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child_env(drop=(), **values):
    """This process's environment for a child: ``PYTHONPATH`` = the repository, the names in
    ``drop`` removed, then ``values`` set (e.g. ``TF_CONFIG=...``)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", *drop)}
    env["PYTHONPATH"] = str(ROOT)
    env.update(values)
    return env
