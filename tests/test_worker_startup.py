"""Multi-worker start-up: what would make a worker fail late, or wait forever, is refused first."""

import json
import socket

import pytest

from transformer_tf.distributed import multiworker_strategy, read_tf_config
from transformer_tf.errors import TransformerTFError


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
