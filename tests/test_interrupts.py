"""Ctrl-C (SIGINT) at start-up and during a study trial: one line, "interrupted", exit 130, no traceback."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from processes import child_env  # tests/processes.py

ROOT = Path(__file__).resolve().parents[1]
ENV = child_env(drop=("TF_CPP_MIN_LOG_LEVEL",), PYTHONUNBUFFERED="1")


def _sigint_as_a_shell_leaves_it():
    """``preexec_fn``: SIGINT at its default and unblocked in the child, as a user's shell starts a
    command. A pytest-xdist worker may have inherited it ignored or blocked from a library that
    started helpers there (joblib's loky, Jupyter kernels), and a child started with SIGINT ignored
    keeps it ignored: Python installs its KeyboardInterrupt handler only over the default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _mapped(pid, library):
    """Whether process ``pid`` has a shared library whose path holds ``library`` loaded (Linux /proc)."""
    try:
        return library in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def _interrupt_while_loading(command, library, limit=120):
    """Start ``command``; send SIGINT as soon as ``library`` is being loaded; returns (status, stderr)."""
    process = subprocess.Popen(
        command,
        env=ENV,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_sigint_as_a_shell_leaves_it,
    )
    deadline = time.monotonic() + limit
    while not _mapped(process.pid, library) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=limit)
    return process.returncode, err.decode()


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="finds the start-up phase in /proc")
@pytest.mark.parametrize(
    "module, command, prog",
    [
        # --engine tensorflow: with its converted model cached, translate loads no TensorFlow at all
        ("transformer_tf", ["translate", "--engine", "tensorflow", "Hello."], "transformer-tf"),
        ("lstm_tf", ["bptt"], "lstm-tf"),
    ],
)
@pytest.mark.parametrize("library", ["_multiarray_umath", "_pywrap_tensorflow_internal"])
def test_ctrl_c_while_numpy_or_tensorflow_loads_says_interrupted_and_exits_130(module, command, prog, library):
    script = f"import sys; from {module}.cli import main; sys.argv[0] = {prog!r}; sys.exit(main())"  # as pip's
    status, err = _interrupt_while_loading([sys.executable, "-c", script, *command], library)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    last = err.splitlines()[-1]  # lstm-tf: TensorFlow's few start-up lines may come first (cli_common)
    assert status == 130 and last.startswith(prog) and last.endswith(": interrupted"), (status, err)


_STUDY = """
import sys, time, optuna
from lstm_tf import search
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.create_study(storage=sys.argv[1], study_name="s")
def objective(variant, trial, draw):
    print("trial started", flush=True)
    time.sleep(60)
try:
    search.run_worker({"vanilla": study}, objective, trials=1, progress=print)
except KeyboardInterrupt:
    print("interrupted", file=sys.stderr)
    sys.exit(130)
"""


def test_ctrl_c_during_a_study_trial_prints_no_optuna_trial_failed_traceback(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    process = subprocess.Popen(
        [sys.executable, "-c", _STUDY, storage],
        env=ENV,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_sigint_as_a_shell_leaves_it,
    )
    assert process.stdout.readline().decode().strip() == "trial started"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    err = err.decode()
    assert process.returncode == 130 and err.strip() == "interrupted", err
    import optuna

    (trial,) = optuna.load_study(study_name="s", storage=storage).get_trials()
    assert trial.state == optuna.trial.TrialState.FAIL  # as before: a resumed study runs it again
