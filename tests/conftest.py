import functools
import http.server
import inspect
import os
import shutil
import threading
from pathlib import Path
from unittest import mock

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same Python/NumPy/TensorFlow random state."""
    import keras  # here, not at the top: pytest-xdist's controlling process loads this file too,
    # runs no test, and would spend seconds importing TensorFlow before starting the workers

    keras.utils.set_random_seed(1234)


SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data():
    """``../shared/data`` beside the checkout (the corpora that cannot be downloaded here).

    In CI (CI=true) a missing folder is a failure; elsewhere the tests that need it skip,
    saying why.
    """
    if not SHARED_DATA.is_dir():
        message = f"{SHARED_DATA} not found: the real-corpus tests need ../shared/data beside the checkout"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return SHARED_DATA


def built_once(tmp_path_factory, name, build):
    """``build(folder)`` run once for the whole test session, however many xdist processes
    ask; returns the folder. The other processes wait for the first one's result (a file
    lock in the session's shared temporary folder: pytest-xdist's recipe for session
    fixtures), so a fixture that trains a model costs one training, not one per process.
    Tests must only read the folder (copy it to change it).
    """
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    # under xdist each process has its own base inside the session's folder; alone, the base is it
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder, done = shared / name, shared / f"{name}.done"
    with FileLock(str(shared / f"{name}.lock")):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # what a process that failed mid-build left
            build(folder)
            done.touch()
    return folder


@pytest.fixture(scope="session")
def trained_dir(shared_data, tmp_path_factory):
    """A tiny model trained for one epoch on 1,500 real pairs (quality is not the point);
    built once per test session (:func:`built_once`), so tests only read it."""
    from transformer_tf.config import TrainConfig
    from transformer_tf.train import train

    config = TrainConfig(
        data=str(shared_data / "spa-eng" / "spa.txt"),
        max_pairs=1500,
        epochs=1,
        num_layers=1,
        d_model=32,
        num_heads=4,
        dff=64,
        vocab_size=500,
        max_tokens=24,
    )
    folder = built_once(tmp_path_factory, "translator", lambda f: train(config, f / "ckpt", f / "logs", verbose=0))
    return folder / "ckpt"


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for the page tests (tests/headless.py); missing, it skips, and fails under CI."""
    from headless import chromium, missing_browser

    reason = missing_browser()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    driver = chromium()
    yield driver
    driver.quit()


@pytest.fixture
def serve_folder():
    """``serve_folder(folder)`` → the ``http://127.0.0.1:PORT`` URL of a local web server for ``folder``.

    The loaders' real download path (HTTP, caching, hash check, unzip) runs against it.
    """
    servers = []

    def serve(folder):
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no request log in the test output
        pass


@pytest.fixture
def connection_attempts():
    """Every TCP connection the HTTP client (urllib3, under requests and pooch) tries, as
    ``(address, timeout)`` pairs; the connections themselves still happen."""
    from urllib3.util import connection

    attempts, real = [], connection.create_connection

    def record(*args, **kwargs):
        bound = inspect.signature(real).bind(*args, **kwargs)
        attempts.append((bound.arguments["address"], bound.arguments.get("timeout")))
        return real(*args, **kwargs)

    with mock.patch.object(connection, "create_connection", side_effect=record):
        yield attempts
