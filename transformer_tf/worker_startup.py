"""Multi-worker start-up: check ``TF_CONFIG``, wait for the other workers, start the strategy.

``MultiWorkerMirroredStrategy()`` waits inside TensorFlow's C++ runtime, holding Python's
GIL, until every worker of ``TF_CONFIG`` has connected: no Python thread and no Python
signal handler runs meanwhile, and TensorFlow's coordination service installs its own
SIGTERM handler (its "preemption notifier"), which only records the signal. A worker
started before its peers would so wait forever and ignore SIGTERM. So the long wait
happens here, in Python, before the strategy starts (:func:`wait_for_peers`): each worker
holds its own port with a plain listening socket, so that the others see it is up, and
polls the others' ports until every one answers. SIGTERM then stops it with a message
and status 143, Ctrl-C with 130 (``cli_common.run``), a timeout with a message and
status 2. Only then does the strategy start, with every peer known to be up; a small
watchdog process still ends the worker if TensorFlow's own connection does not finish
within the timeout (a peer that died in between), and SIGTERM gets its ordinary meaning
back afterwards (TensorFlow's notifier would swallow it for the whole run).

Reading order: :func:`read_tf_config`, :func:`multiworker_strategy`, :func:`wait_for_peers`.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import tensorflow as tf

from transformer_tf.config import WORKER_TIMEOUT
from transformer_tf.errors import TransformerTFError

#: Exit status of a worker stopped by SIGTERM while it waits: 128 + 15, as the shell reports
#: a process that SIGTERM ended (and as ``cli_common.files`` exits inside a folder write).
SIGTERM_STATUS = 128 + signal.SIGTERM


def read_tf_config(text):
    """Check a ``TF_CONFIG`` value; returns ``(cluster, task_type, task_index)``.

    ``TF_CONFIG`` is JSON: ``{"cluster": {"worker": ["host0:port", "host1:port"]},
    "task": {"type": "worker", "index": 0}}`` (optionally also a ``"chief"`` job).

    Raises:
        TransformerTFError: not JSON, no workers, an unknown task type, an index out of range,
            or one ``host:port`` listed twice (two tasks cannot share a server).
    """
    example = '\'{"cluster": {"worker": ["host0:12345", "host1:12345"]}, "task": {"type": "worker", "index": 0}}\''
    try:
        spec = json.loads(text)
    except ValueError as err:
        raise TransformerTFError(f"TF_CONFIG is not valid JSON ({err}); set it like {example}.") from None
    cluster = spec.get("cluster") if isinstance(spec, dict) else None
    jobs = {job: hosts for job, hosts in (cluster or {}).items() if job in ("chief", "worker")}
    if not jobs or not all(isinstance(h, list) and h for h in jobs.values()):
        raise TransformerTFError(
            f"TF_CONFIG lists no workers (cluster.worker is missing or empty); set it like {example}."
        )
    addresses = [address for hosts in jobs.values() for address in hosts]
    twice = sorted({a for a in addresses if addresses.count(a) > 1}, key=str)
    if twice:
        raise TransformerTFError(
            f"TF_CONFIG lists {', '.join(map(str, twice))} more than once; give every task its own host:port."
        )
    task = spec.get("task") or {}
    task_type, index = task.get("type"), task.get("index", 0)
    if task_type not in jobs:
        raise TransformerTFError(
            f"TF_CONFIG task type {task_type!r} is not a job of its cluster "
            f"({', '.join(jobs)}); set task.type to one of them."
        )
    if not isinstance(index, int) or not 0 <= index < len(jobs[task_type]):
        raise TransformerTFError(
            f"TF_CONFIG task index {index!r} is out of range: the cluster lists "
            f"{len(jobs[task_type])} {task_type}(s), so use 0..{len(jobs[task_type]) - 1}."
        )
    return jobs, task_type, index


def local_tf_configs(workers):
    """``TF_CONFIG`` values for ``workers`` processes on this machine (trying it out, tests,
    benchmarks): free localhost ports picked now, one JSON string per task index.

    Returns:
        list of ``workers`` strings; process ``i`` gets item ``i`` as its ``TF_CONFIG``.
    """
    sockets = [socket.socket() for _ in range(workers)]
    for s in sockets:
        s.bind(("localhost", 0))
    cluster = {"worker": [f"localhost:{s.getsockname()[1]}" for s in sockets]}
    for s in sockets:
        s.close()
    return [json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}) for i in range(workers)]


def multiworker_strategy(timeout=WORKER_TIMEOUT):
    """``MultiWorkerMirroredStrategy`` for the workers of ``TF_CONFIG`` (one local worker without it).

    First waits, in Python, for every other worker of ``TF_CONFIG`` to be up
    (:func:`wait_for_peers`: SIGTERM and Ctrl-C stop it there); then the strategy's
    constructor connects them. If that connection has not finished after ``timeout``
    seconds more (a peer that died in between), a watchdog prints why and kills the
    process (status 137). Once it is up, SIGTERM ends the process as in any other run.

    Raises:
        TransformerTFError: ``timeout`` under 1 s, a bad ``TF_CONFIG`` (:func:`read_tf_config`),
            this task's port already taken by another process (before anything starts), or a
            peer that did not come up within ``timeout`` seconds.
    """
    check_worker_timeout(timeout)
    if os.environ.get("TF_CONFIG"):
        jobs, task_type, index = read_tf_config(os.environ["TF_CONFIG"])
        wait_for_peers([a for hosts in jobs.values() for a in hosts], jobs[task_type][index], timeout)
    sigterm = signal.getsignal(signal.SIGTERM)
    watchdog = subprocess.Popen(
        [sys.executable, "-c", _WATCHDOG, str(os.getpid()), repr(timeout)], stdin=subprocess.PIPE
    )
    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    finally:
        watchdog.stdin.close()  # the watchdog's read returns: all workers are up (or an error came)
        watchdog.wait()
        if threading.current_thread() is threading.main_thread():  # undo TensorFlow's SIGTERM handler
            signal.signal(signal.SIGTERM, signal.SIG_DFL if sigterm is None else sigterm)


# argv: the worker's pid, seconds. Waits for its stdin to close; if it stays open too long,
# says why and ends the worker (SIGKILL: the only signal a process stuck in that call obeys).
_WATCHDOG = """
import os, select, signal, sys
pid, timeout = int(sys.argv[1]), float(sys.argv[2])
if not select.select([sys.stdin], [], [], timeout)[0]:
    print(f"transformer-tf train: error: not every worker of TF_CONFIG came up within {timeout:g} s; start "
          f"all of them (the same command, each with its own task index), or wait longer with "
          f"--worker-timeout SECONDS. Stopping this worker.", file=sys.stderr, flush=True)
    os.kill(pid, signal.SIGKILL)
"""


def wait_for_peers(addresses, own, timeout, interval=0.2):
    """Hold ``own`` (this task's ``host:port``) and return once every other address accepts a
    TCP connection; all in Python, so that SIGTERM and Ctrl-C are obeyed while it waits.

    Each worker listens on its own port meanwhile (and answers the others' probes), then lets
    the port go to TensorFlow's server; a peer that probes in that moment finds TensorFlow's
    server instead, so no start order can make two workers wait for each other.

    Args:
        addresses: every task's ``host:port`` of ``TF_CONFIG`` (this one's included).
        timeout: seconds to wait in all.
        interval: seconds between two rounds of probes.

    Raises:
        TransformerTFError: ``own``'s port is taken by another process, or a peer is not up
            within ``timeout`` seconds. SIGTERM meanwhile prints why and exits with
            :data:`SIGTERM_STATUS` (``SystemExit``; nothing has been written yet).
    """
    waiting = [a for a in dict.fromkeys(addresses) if a != own]
    deadline = time.monotonic() + timeout
    with _hold_port(own) as listener, _sigterm_stops(waiting):
        while waiting:
            _answer_probes(listener)
            waiting[:] = [a for a in waiting if not _answers(a)]
            if waiting and time.monotonic() > deadline:
                raise TransformerTFError(
                    f"not every worker of TF_CONFIG came up within {timeout:g} s (no answer from "
                    f"{', '.join(waiting)}); start all of them (the same command, each with its own task "
                    f"index), or wait longer with worker_timeout=SECONDS."
                )
            if waiting:
                time.sleep(interval)


def _answers(address):
    """Whether something listens on ``host:port`` (a peer waiting here, or its TensorFlow server)."""
    host, _, port = str(address).rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=1).close()
    except OSError:
        return False
    return True


def _answer_probes(listener):
    """Accept and close the peers' probes queued on ``listener`` (so its backlog never fills)."""
    while True:
        try:
            connection, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        connection.close()


@contextlib.contextmanager
def _hold_port(address):
    """A listening socket on ``address``'s port (all interfaces) while the block runs.

    Raises:
        TransformerTFError: another process holds the port (TensorFlow would fail later with
            "Could not start gRPC server", after its peers waited).
    """
    import errno

    port = str(address).rpartition(":")[2]
    if not port.isdigit():
        raise TransformerTFError(f"TF_CONFIG address {address!r}: give it as host:port.")
    dual = socket.has_dualstack_ipv6()
    try:  # SO_REUSEADDR, as gRPC: a closing socket is no owner
        listener = socket.create_server(
            ("", int(port)), family=socket.AF_INET6 if dual else socket.AF_INET, dualstack_ipv6=dual
        )
    except OSError as err:
        if err.errno != errno.EADDRINUSE:
            raise
        raise TransformerTFError(
            f"TF_CONFIG: this task's address {address} has port {port} taken by another process; "
            f"stop it, or give this task another port in every worker's TF_CONFIG."
        ) from None
    listener.setblocking(False)
    with listener:
        yield listener


@contextlib.contextmanager
def _sigterm_stops(waiting):
    """While the block runs (in the main thread), SIGTERM prints what the worker was waiting for
    and raises ``SystemExit(SIGTERM_STATUS)``; ``waiting``: the addresses still missing (a list
    the block updates)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        print(
            f"transformer-tf train: stopped by SIGTERM while waiting for the other workers of TF_CONFIG "
            f"(no answer yet from {', '.join(waiting) or 'none'}); nothing was written. Start every worker "
            f"with the same command to train.",
            file=sys.stderr,
            flush=True,
        )
        raise SystemExit(SIGTERM_STATUS)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def check_worker_timeout(timeout):
    """``timeout`` must be a number of seconds ≥ 1 (0 would give up at once, a negative one never)."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout >= 1:
        raise TransformerTFError(
            f"worker_timeout {timeout!r}: give the seconds to wait for every worker, at least 1 "
            f"(default {WORKER_TIMEOUT})."
        )
