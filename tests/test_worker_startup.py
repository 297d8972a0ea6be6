"""Multi-worker start-up: what would make a worker fail late, or wait forever, is refused first;
a worker that waits for its peers still ends on SIGTERM."""

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from processes import child_env  # tests/processes.py

from transformer_tf.errors import TransformerTFError
from transformer_tf.worker_startup import SIGTERM_STATUS, local_tf_configs, multiworker_strategy, read_tf_config


def tf_config(workers, index=0):
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})


def test_a_host_port_listed_twice_is_refused():
    with pytest.raises(TransformerTFError, match="localhost:2222 more than once"):
        read_tf_config(tf_config(["localhost:2222", "localhost:2222"]))
    chief = json.dumps(
        {"cluster": {"chief": ["h:1"], "worker": ["h:2", "h:1"]}, "task": {"type": "worker", "index": 0}}
    )
    with pytest.raises(TransformerTFError, match="h:1 more than once"):
        read_tf_config(chief)


@pytest.mark.parametrize("timeout", [-1, 0, 0.5, "60", True])
def test_a_worker_timeout_below_one_second_is_refused_before_anything_starts(timeout, monkeypatch):
    monkeypatch.setattr("subprocess.Popen", None)  # no watchdog, no strategy: the check comes first
    with pytest.raises(TransformerTFError, match=r"worker_timeout .*at least 1"):
        multiworker_strategy(timeout)


def test_a_port_another_process_listens_on_is_refused_before_the_strategy_starts(monkeypatch):
    with socket.socket() as taken:
        taken.bind(("", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("TF_CONFIG", tf_config([f"localhost:{port}", "localhost:1"]))
        monkeypatch.setattr("subprocess.Popen", None)
        with pytest.raises(TransformerTFError, match=f"port {port} taken by another process"):
            multiworker_strategy(60)


def test_the_cli_refuses_a_negative_worker_timeout_with_exit_2(tmp_path, capsys):
    from transformer_tf.cli import main

    code = main(
        ["train", "--strategy", "multiworker", "--worker-timeout", "-1", "--checkpoint-dir", str(tmp_path / "c")]
    )
    err = capsys.readouterr().err
    assert code == 2 and "--worker-timeout -1: give the seconds" in err and "Traceback" not in err
    assert not (tmp_path / "c").exists()


ROOT = Path(__file__).resolve().parents[1]
ENV = child_env(PYTHONUNBUFFERED="1")
LIMIT = 300  # seconds a worker process may take before the test fails (and kills it)


def _answers(port):
    try:
        socket.create_connection(("localhost", port), timeout=1).close()
    except OSError:
        return False
    return True


def _start(command, tf_config, tmp_path):
    env = dict(ENV, TF_CONFIG=tf_config, TMPDIR=str(tmp_path))
    return subprocess.Popen(command, env=env, cwd=tmp_path, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _stop(process, sig):
    process.send_signal(sig)
    try:
        return process.communicate(timeout=LIMIT)
    finally:
        process.kill()


@pytest.mark.slow
def test_a_worker_waiting_for_a_peer_that_never_comes_ends_on_sigterm_with_a_message(tmp_path):
    """Before: TensorFlow's start-up held the process and swallowed SIGTERM (13 minutes, until SIGKILL)."""
    config = local_tf_configs(2)[0]  # only worker 0 starts: worker 1 never comes
    own_port = int(json.loads(config)["cluster"]["worker"][0].rpartition(":")[2])
    command = [sys.executable, "-m", "transformer_tf.cli", "train", "--strategy", "multiworker"]
    process = _start([*command, "--worker-timeout", "600", "--checkpoint-dir", "ck"], config, tmp_path)
    deadline = time.monotonic() + LIMIT
    while not _answers(own_port) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)  # until it waits: it holds its own port then
    _, err = _stop(process, signal.SIGTERM)
    assert process.returncode == SIGTERM_STATUS == 143, err
    assert "stopped by SIGTERM while waiting for the other workers of TF_CONFIG" in err, err
    assert "nothing was written" in err and "Traceback" not in err, err
    assert not (tmp_path / "ck").exists() and not (tmp_path / "logs").exists()


_UP_THEN_SLEEP = """
import time
from transformer_tf.worker_startup import multiworker_strategy
multiworker_strategy(60)
print("up", flush=True)
time.sleep(600)
"""


@pytest.mark.slow
def test_sigterm_ends_a_worker_once_the_strategy_is_up_as_in_any_run(tmp_path):
    """TensorFlow's coordination service leaves its own SIGTERM handler (a "preemption notice"
    that only records the signal); once started, the worker gets the ordinary SIGTERM back."""
    process = _start([sys.executable, "-c", _UP_THEN_SLEEP], local_tf_configs(1)[0], tmp_path)
    assert process.stdout.readline().strip() == "up", process.stderr.read()
    _stop(process, signal.SIGTERM)
    assert process.returncode == -signal.SIGTERM
