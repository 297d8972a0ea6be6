"""``transformer-tf serve --workers N`` (issue 27): N server processes on one port, started and
stopped together, each answering as the one-process server does; the real command in a subprocess."""

import asyncio
import concurrent.futures
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
from test_serve import TEXTS, Server  # tests/: the one-process server's helper, the same texts

from transformer_tf.cli import main


@pytest.fixture(scope="module")
def folder(trained_dir, tmp_path_factory):
    """A copy of the tiny model without its CTranslate2 conversion: ``serve --workers`` converts it once."""
    from transformer_tf.ctranslate2_engine import CACHE_NAME

    copy = tmp_path_factory.mktemp("workers") / "ckpt"
    shutil.copytree(trained_dir, copy, ignore=shutil.ignore_patterns(CACHE_NAME))
    return copy


def health_of_each(server, tries=400):
    """``{pid: /api/health}`` of every worker, asked on new connections until each has answered."""
    seen = {}
    for _ in range(tries):
        answer = server.request("GET", "/api/health")[1]
        seen[answer["worker"]["pid"]] = answer
        if len(seen) == answer["worker"]["workers"]:
            return seen
    raise AssertionError(f"only {len(seen)} workers answered")


def translate_on_own_connections(server, texts, count):
    """``count`` one-text requests at once, each on its own connection: their answers' translations."""
    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        answers = list(pool.map(lambda text: server.request("POST", "/api/translate", {"sentences": [text]}), texts))
    assert [status for status, _ in answers] == [200] * len(texts)
    return [answer["translations"][0] for _, answer in answers]


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_workers_share_the_port_answer_as_the_engine_and_finish_their_requests_on_a_signal(folder, sig):
    from transformer_tf.ctranslate2_engine import CACHE_NAME, fresh_model
    from transformer_tf.engines import open_translator

    # one decode thread a worker: a batch waits a second for company after its latest request, so the
    # four requests are in flight when the signal comes
    wait = ["--decode-threads", "1", "--batch-wait-ms", "1000", "--max-batch", "100"]
    server = Server("--checkpoint-dir", folder, "--workers", "2", *wait)
    try:
        assert "with 2 workers" in server.lines[-1]
        assert fresh_model(folder) == folder / CACHE_NAME  # converted before the workers started
        workers = health_of_each(server)
        assert sorted(h["worker"]["index"] for h in workers.values()) == [0, 1]
        assert all(h["engines"] == {"ckpt": "ctranslate2"} for h in workers.values())
        engine = open_translator(folder)
        texts = [*TEXTS, *(f"Tom has {n} red apples." for n in range(2, 14))]
        assert translate_on_own_connections(server, texts, len(texts)) == engine.translate(texts)
        served = sum(h["batched_texts"] for h in health_of_each(server).values())
        assert served == len(texts)  # each text decoded once, by one worker or the other

        requests = [[f"Tom has {n} red apples." for n in range(k, k + 16)] for k in (2, 20, 40, 60)]
        with concurrent.futures.ThreadPoolExecutor(len(requests)) as pool:
            answers = [
                pool.submit(server.request, "POST", "/api/translate", {"sentences": texts}) for texts in requests
            ]
            deadline = time.monotonic() + 30
            while sum(h["in_flight"] for h in health_of_each(server).values()) < len(requests):
                assert time.monotonic() < deadline, "the requests never arrived"
                time.sleep(0.01)
            status, output = server.stop(sig)  # the parent alone: a terminal's Ctrl-C reaches only it
            answers = [answer.result() for answer in answers]
    finally:
        if server.process.poll() is None:
            server.process.kill()
    assert status == 0
    assert [answer["translations"] for _, answer in answers] == [engine.translate(texts) for texts in requests]
    assert f"stopped ({sig.name}); requests in flight were answered" in output
    assert "Traceback" not in "".join(server.stderr)
    with pytest.raises(ConnectionRefusedError):
        server.request("GET", "/api/health")
    for pid in workers:  # no worker is left behind
        assert not os.path.exists(f"/proc/{pid}") or "zombie" in open(f"/proc/{pid}/status").read().lower()


@pytest.mark.slow
def test_the_port_is_refused_to_another_server_and_a_worker_that_dies_stops_the_others(folder, capsys):
    """``SO_REUSEPORT`` lets the workers share their port; a second ``serve --workers`` asking for it is
    refused at once, as a port any other program holds (not silently given half the connections). A
    worker killed stops the other, and the command exits 1 saying which."""
    server = Server("--checkpoint-dir", folder, "--workers", "2", "--engine", "tensorflow")
    try:
        port = server.host_port.rpartition(":")[2]
        assert main(["serve", "--port", port, "--workers", "2", "--checkpoint-dir", str(folder)]) == 2
        assert f"--port {port}: cannot listen there (Address already in use)" in capsys.readouterr().err
        assert translate_on_own_connections(server, TEXTS, 3)  # still serving
        workers = health_of_each(server)
        dead, other = list(workers)
        os.kill(dead, signal.SIGKILL)
        server.process.wait(timeout=60)
    finally:
        if server.process.poll() is None:
            server.process.kill()
    assert server.process.returncode == 1
    index = workers[dead]["worker"]["index"]
    time.sleep(0.5)  # the stderr reader catches up
    assert f"worker {index} exited (code -9); stopping the others." in "".join(server.stderr)
    assert not os.path.exists(f"/proc/{other}")


@pytest.mark.slow
def test_a_signal_while_the_workers_start_stops_them_and_exits_0(folder):
    """SIGTERM before the workers listen (they are importing TensorFlow): no error, no worker left behind."""
    command = [sys.executable, "-m", "transformer_tf.cli", "serve", "--port", "0", "--workers", "2"]
    process = subprocess.Popen(
        [*command, "--engine", "tensorflow", "--checkpoint-dir", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)  # the workers are starting
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "stopped (SIGTERM)" in out and "Traceback" not in err and "serve: error" not in err
    assert "serve-worker" not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout


@pytest.mark.slow
def test_workers_whose_parent_is_killed_stop_and_free_the_port(folder):
    """SIGKILL leaves the parent no word to say: each worker notices it is gone, stops, and the port is free."""
    server = Server("--checkpoint-dir", folder, "--workers", "2", "--engine", "tensorflow")
    workers = list(health_of_each(server))
    server.process.kill()
    server.process.wait(timeout=30)
    deadline = time.monotonic() + 60
    while any(os.path.exists(f"/proc/{pid}") for pid in workers):
        assert time.monotonic() < deadline, "a worker outlived its parent"
        time.sleep(0.1)
    host, port = server.host_port.rsplit(":", 1)
    with socket.socket() as free:
        free.bind((host, int(port)))  # no worker listens there any more


def test_cli_refuses_bad_worker_counts_and_bad_folders_before_starting_a_worker(tmp_path, capsys, monkeypatch):
    import multiprocessing

    def no_process(*args, **kwargs):
        raise AssertionError("a worker was started")

    monkeypatch.setattr(multiprocessing.context.SpawnProcess, "start", no_process)
    assert main(["serve", "--port", "0", "--workers", "0"]) == 2
    assert main(["serve", "--port", "0", "--workers", "2", "--checkpoint-dir", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert "--workers 0: give a whole number ≥ 1" in err
    assert str(tmp_path / "none") in err and "Traceback" not in err


def test_a_worker_that_cannot_load_its_model_is_the_commands_error(folder, tmp_path, capsys):
    broken = tmp_path / "ckpt"
    shutil.copytree(folder, broken)
    for weights in broken.glob("*.weights.h5"):
        weights.unlink()
    for checkpoint in [*broken.glob("ckpt-*"), *broken.glob("checkpoint")]:
        checkpoint.unlink()
    status = main(["serve", "--port", "0", "--workers", "2", "--engine", "tensorflow", "--checkpoint-dir", str(broken)])
    err = capsys.readouterr().err
    assert status == 2, err
    assert "transformer-tf serve: error:" in err and "Traceback" not in err


def test_workers_listen_on_sockets_that_share_one_port():
    from transformer_tf.serve import bound_socket, listening_socket

    holder = bound_socket("127.0.0.1", 0, reuse_port=True)
    port = holder.getsockname()[1]
    first, second = (listening_socket("127.0.0.1", port, reuse_port=True) for _ in range(2))
    try:
        for sock in (first, second):
            sock.listen(8)
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        accepted = set()
        for sock in (first, second):
            sock.setblocking(False)
        for _ in range(64):  # the kernel spreads new connections over the listening sockets
            with socket.create_connection(("127.0.0.1", port)):
                for sock in (first, second):
                    try:
                        sock.accept()[0].close()
                        accepted.add(sock.fileno())
                    except BlockingIOError:
                        pass
        assert accepted == {first.fileno(), second.fileno()}
    finally:
        for sock in (holder, first, second):
            sock.close()


def test_health_names_the_worker_that_answered():
    from test_serve_route import _answers  # tests/: an app of echo models, called in this process

    ((status, _, body),) = asyncio.run(_answers("lean", [("GET", "/api/health")], worker=(1, 3)))
    assert status == 200
    assert json.loads(body)["worker"] == {"pid": os.getpid(), "index": 1, "workers": 3}
