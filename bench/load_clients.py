"""The load generators of ``bench/serve_load.py``: N closed-loop clients, each sending one-sentence
``POST /api/translate`` requests back to back on its own kept-alive connection for a fixed time.

Two kinds, the same load (:func:`run_clients`):

- ``wrk`` (https://github.com/wg/wrk, Debian package ``wrk``): the load generator HTTP servers
  are measured with; C, one event-loop thread here for all the connections, its Lua script
  (``wrk_translate.lua``) cycling through the sentences' JSON bodies and counting the answers
  that are not 200. Its CPU a request is small, so it leaves the 2 cores to the server.
- ``python``: coroutines on one asyncio thread of the bench process (plain HTTP/1.1 over asyncio
  streams); it also checks each translation against the batch path's, but its CPU a request is
  several times wrk's and it runs on the cores the server uses.

``auto``: wrk where it is installed, else Python.
"""

import asyncio
import dataclasses
import itertools
import json
import random
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

CLIENTS = ("auto", "wrk", "python")
WRK_SCRIPT = Path(__file__).with_name("wrk_translate.lua")
WRK_MARK = "WRK-RESULT "  # the line the Lua script's done() prints


@dataclasses.dataclass
class Load:
    """What one load run measured on the client side.

    Attributes:
        client: ``"wrk"`` or ``"python"``, the generator that ran.
        answered: answers with status 200; ``errors``: other answers and connection errors.
        seconds: the run's wall-clock length; ``cpu_seconds``: the generator's CPU in it.
        mean, p50, p99: latency of the answered requests, ms (mean, percentiles).
        same: ``{sentence: translation}`` answers equal to the expected ones, a share (None: not checked, wrk).
    """

    client: str
    answered: int
    errors: int
    seconds: float
    cpu_seconds: float
    mean: float
    p50: float
    p99: float
    same: float | None


def resolve_client(kind):
    """``auto`` → ``wrk`` when the ``wrk`` command is installed, else ``python``."""
    if kind == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    if kind == "wrk" and not shutil.which("wrk"):
        raise SystemExit("--client wrk: the wrk command is not installed (Debian: apt-get install -y wrk)")
    return kind


def run_clients(kind, address, sentences, clients, seconds, expected):
    """``clients`` concurrent clients for ``seconds`` against ``address`` ("host:port"): a :class:`Load`.
    ``expected``: ``{sentence: translation}`` the Python clients compare the answers with."""
    if resolve_client(kind) == "wrk":
        return run_wrk(address, sentences, clients, seconds)
    return run_python(address, sentences, clients, seconds, expected)


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_wrk(address, sentences, clients, seconds):
    """wrk with one thread and ``clients`` connections; its CPU from the finished child's rusage."""
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", encoding="utf-8") as bodies:
        bodies.writelines(json.dumps({"sentences": [s]}) + "\n" for s in sentences)
        bodies.flush()
        command = ["wrk", "-t", "1", "-c", str(clients), "-d", f"{seconds:g}s", "--timeout", "60s"]
        command += [
            "-s",
            str(WRK_SCRIPT),
            f"http://{address}/",
            "--",
            bodies.name,
            str(random.randrange(len(sentences))),
        ]
        cpu, start = _children_cpu(), time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        elapsed, cpu = time.perf_counter() - start, _children_cpu() - cpu
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith(WRK_MARK)), None)
    if done.returncode or line is None:
        raise SystemExit(f"wrk failed (exit {done.returncode}): {done.stderr or done.stdout}")
    result = json.loads(line.removeprefix(WRK_MARK))
    errors = result["non200"] + sum(result[k] for k in ("connect", "read", "write", "timeout"))
    return Load(
        "wrk",
        result["requests"] - result["non200"],
        errors,
        result["duration_us"] / 1e6 if result["duration_us"] else elapsed,
        cpu,
        result["mean_us"] / 1000,
        result["p50_us"] / 1000,
        result["p99_us"] / 1000,
        None,
    )


def run_python(address, sentences, clients, seconds, expected):
    """The asyncio clients in this process; their CPU is this process's in the run (nothing else runs in it)."""
    results, counter = [], itertools.count(random.randrange(len(sentences)))
    start, cpu = time.perf_counter(), time.process_time()

    async def all_clients():
        await asyncio.gather(*(client(address, sentences, counter, start + seconds, results) for _ in range(clients)))

    asyncio.run(all_clients())
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    latencies = sorted(1000 * latency for latency, _, translation in results if translation is not None)
    answered = len(latencies)
    same = sum(translation == expected.get(s) for _, s, translation in results if translation is not None)
    return Load(
        "python",
        answered,
        len(results) - answered,
        elapsed,
        cpu,
        sum(latencies) / answered if answered else float("nan"),
        latencies[answered // 2] if answered else float("nan"),
        latencies[min(answered - 1, int(answered * 0.99))] if answered else float("nan"),
        same / max(answered, 1),
    )


async def client(address, sentences, counter, stop_at, results):
    """Send one-sentence requests on one kept-alive connection until ``stop_at``; append
    ``(latency s, sentence, translation or None)`` to ``results``."""
    host, port = address.rsplit(":", 1)
    connection = None
    while time.perf_counter() < stop_at:
        sentence = sentences[next(counter) % len(sentences)]
        start = time.perf_counter()
        try:
            connection = connection or await asyncio.open_connection(host, int(port))
            status, answer = await post(*connection, address, "/api/translate", {"sentences": [sentence]})
            translation = answer["translations"][0] if status == 200 else None
        except (OSError, ValueError, asyncio.IncompleteReadError):
            connection = _close(connection)
            translation = None
        results.append((time.perf_counter() - start, sentence, translation))
    _close(connection)


async def post(reader, writer, address, path, body):
    """``(status, JSON answer)`` of one ``POST path`` with the JSON ``body`` on a kept-alive connection."""
    data = json.dumps(body).encode()
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n\r\n".encode()
        + data
    )
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    length = next(int(line.split(":")[1]) for line in head if line.lower().startswith("content-length:"))
    return int(head[0].split()[1]), json.loads(await reader.readexactly(length))


def _close(connection):
    if connection:
        connection[1].close()
    return None
