"""Load test of ``transformer-tf serve``: N concurrent clients, each sending one-sentence
requests back to back for a fixed time, against the real server on 127.0.0.1; compared
with the batch throughput of ``translate --file`` on the same sentences, in the same run.

    python bench/serve_load.py [--clients 1 8 32] [--seconds 20] [--sentences 512]
                               [--engine ctranslate2 tensorflow]
                               [--batching continuous fixed] [--decode-threads 1 2] [--workers 1 2] [--slots 64]
                               [--intra-op-threads 1] [--file-intra-op-threads 0]
                               [--event-loop asyncio uvloop] [--translate-route lean fastapi]
                               [--client wrk python]
                               [--screenshot notebooks/figures/serve_page.png]

Several ``--engine``, ``--batching``, ``--decode-threads``, ``--workers``, ``--event-loop`` or ``--translate-route``
values: one server after the other for each combination (CTranslate2 with ``--batching continuous`` is
refused and left out), each against the same engine's ``translate --file`` timings of this run (side by
side). ``--engine auto`` (the default, as ``serve``'s) is CTranslate2 for ``en_es``, TensorFlow with
``--batching continuous``. With ``--batching continuous`` a row's "batches" are the decode loop's steps (their rows).

The clients (``--client``, :mod:`load_clients`): ``wrk`` (the C load generator, one thread; Debian
package ``wrk``), ``python`` (coroutines on one thread of this process, which also compare each
answer with the batch path's), ``auto``: wrk where installed; several: one row each, against the same
server. Each client keeps one connection alive and sends its next request once answered.
Prints one row per client count and kind: requests/s, p50 and p99 latency, errors (any answer but
200, or a connection error), the decode batches the server formed (mean size, the
10/50/90th percentiles of their sizes, the mean time a batch waited for more requests after
its first) and the share of the time its worker threads spent decoding, summed (its /api/health
counters, summed over ``--workers``' processes), the share of answers
equal to the batch translation of the same sentence, and the ratio of sentences/s to
``translate --file``; the server's sentences per CPU-second (its processes, all threads, from
``/proc``) against ``translate --file``'s (less moved by other work on a shared machine than
wall-clock rates); last, the same wall-clock ratio for ``Translator.translate`` on unsorted groups
of the row's mean batch size in this process, as many at once as the server has decode threads,
no server (:func:`group_throughput`: the decode alone at the batches the server got).
Then where the CPU goes, per answered request: the clients, the server's event loop (HTTP,
JSON, validation: its main thread), its decode threads (pre-pass, tokens, decode), its other
threads (TensorFlow's pools, where the decode graph's ops run), the time its threads waited
for a core (other work on the machine), beside ``translate --file``'s CPU a sentence.
``translate --file`` is, on CTranslate2, ``open_translator(en_es).translate(sentences, batch_size=128)``
(``translate``'s default batch size there), on TensorFlow ``Translator.translate(sentences,
batch_size=64)`` (what the command runs, without its start-up), timed in this process
(for at least a second, passes over the sentences repeated) before and after each row while
the server is idle; each row's ratio is against the mean
of the two around it (other work on the machine changes both alike). The server runs in
its own process with the default models (``checkpoints/en_es`` and
``checkpoints/en_es_rnn``); clients ask ``en_es``. On CTranslate2 the decode threads wait while
CTranslate2's own threads decode: their CPU shows under "other". Last, where a request's round
trip goes: the server's stages from its ``/api/health`` (:mod:`transformer_tf.serve_stages`) and the rest.
"""

import argparse
import collections
import concurrent.futures
import contextlib
import http.client
import itertools
import json
import os
import random
import re
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import load_clients  # bench/: this script's folder is on sys.path
from serve_report import print_breakdown, print_stages, print_table, request_stages

import cli_common
from transformer_tf.config import DECODE_SLOTS, DEFAULT_ENGINE, ENGINES
from transformer_tf.errors import TransformerTFError
from transformer_tf.serve_config import (
    BATCHING,
    EVENT_LOOP,
    EVENT_LOOPS,
    INTRA_OP_THREADS,
    TRANSLATE_ROUTE,
    TRANSLATE_ROUTES,
    default_decode_threads,
)

cli_common.quiet_tensorflow()  # before TensorFlow loads (here and in the server it starts)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # tests/headless.py: the browser of the page tests
HOST = "127.0.0.1"  # the load goes to this machine only
ARTICLE_SENTENCE = "He admired her as a great director."


def corpus_sentences(path, count, seed=0):
    """``count`` distinct English sentences of spa.txt (its first column), a seeded sample."""
    english = sorted({line.split("\t")[0] for line in Path(path).read_text(encoding="utf-8").splitlines() if line})
    return random.Random(seed).sample(english, count)


def start_server(flags=()):
    """``transformer-tf serve --port 0 FLAGS`` in a subprocess; ``(process, "127.0.0.1:PORT")``."""
    command = [sys.executable, "-m", "transformer_tf.cli", "serve", "--host", HOST, "--port", "0", *flags]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    for line in process.stdout:
        found = re.search(r"serving on http://([^/]+)/", line)
        if found:
            return process, found.group(1)
    raise SystemExit(f"the server did not start (exit {process.wait()})")


def get(address, path):
    connection = http.client.HTTPConnection(address, timeout=60)
    try:
        connection.request("GET", path)
        return json.loads(connection.getresponse().read())
    finally:
        connection.close()


def health(address, tries=400):
    """``(counters, pids)``: the server's ``/api/health`` counters summed over its worker processes
    (``serve --workers``: each answers with its own; asked on new connections until every worker has
    answered, which the kernel hands out among them) and those workers' process ids."""
    seen = {}
    for _ in range(tries):
        answer = get(address, "/api/health")
        worker = answer.get("worker", {"pid": None, "workers": 1})
        seen[worker["pid"]] = answer
        if len(seen) == worker["workers"]:
            return summed(list(seen.values())), list(seen)
    raise SystemExit(f"only {len(seen)} of the server's {worker['workers']} workers answered /api/health")


def summed(answers):
    """The numbers of several ``/api/health`` answers added up, nested dicts key by key; the rest the first's."""
    first = answers[0]
    if isinstance(first, dict):
        keys = dict.fromkeys(k for answer in answers for k in answer)
        return {k: summed([a[k] for a in answers if k in a]) for k in keys}
    if isinstance(first, (int, float)) and not isinstance(first, bool):
        return sum(answers)
    return first


def load(kind, address, sentences, clients, seconds, expected, warmup=0.0):
    """One row of the tables: ``clients`` concurrent clients of ``kind`` (:mod:`load_clients`) for ``seconds``,
    after ``warmup`` seconds of the same load, not counted: the batcher learns how many clients there are
    (``DynamicBatcher``'s expected batch starts at one), so a cold start's first batches are small and late."""
    if warmup > 0:
        load_clients.run_clients(kind, address, sentences, clients, warmup, expected)
    before, pids = health(address)  # the worker processes': serve --workers
    cpu, loop_cpu = sum(map(cpu_seconds, pids)), sum(cpu_seconds(pid, pid) for pid in pids)
    queued = sum(map(run_queue_seconds, pids))
    done = load_clients.run_clients(kind, address, sentences, clients, seconds, expected)
    after, cpu = health(address)[0], sum(map(cpu_seconds, pids)) - cpu
    loop_cpu = sum(cpu_seconds(pid, pid) for pid in pids) - loop_cpu
    queued = sum(map(run_queue_seconds, pids)) - queued
    batch_cpu = after.get("batch_cpu_seconds", 0) - before.get("batch_cpu_seconds", 0)
    answered, elapsed = done.answered, done.seconds
    stages = request_stages(before, after)
    batches = after["batches"] - before["batches"]
    if "decode_loops" in after and after["decode_loops"]["steps"] > before["decode_loops"]["steps"]:
        before, after = loop_as_batches(before), loop_as_batches(after)  # a step of the decode loop: a batch
        batches = after["batches"] - before["batches"]
        batch_cpu = after["batch_cpu_seconds"] - before["batch_cpu_seconds"]
    return {
        "clients": clients,
        "client": done.client,
        "requests": answered + done.errors,
        "per_second": answered / elapsed,
        "per_cpu_second": answered / cpu if cpu > 0 else float("nan"),
        "mean": done.mean,
        "p50": done.p50,
        "p99": done.p99,
        "errors": done.errors,
        "mean_batch": (after["batched_texts"] - before["batched_texts"]) / max(batches, 1),
        "decoding": (after["batch_seconds"] - before["batch_seconds"]) / elapsed,
        # (a server older than these two counters: 0 and "-")
        "wait_ms": 1000 * (after.get("gather_seconds", 0) - before.get("gather_seconds", 0)) / max(batches, 1),
        "sizes": batch_size_deciles(before.get("batch_sizes", {}), after.get("batch_sizes", {})),
        "same": done.same,
        "stages": stages,
        "busy_cores": cpu / elapsed,
        # CPU milliseconds per answered request: the clients, the server's event loop (HTTP, JSON,
        # validation), its decode threads (pre-pass, tokens, decode) and the rest of the server
        "cpu_ms": {
            name: 1000 * seconds / max(answered, 1)
            for name, seconds in {
                "clients": done.cpu_seconds,
                "loop": loop_cpu,
                "decode": batch_cpu,
                "other": cpu - loop_cpu - batch_cpu,
                "server": cpu,
                "queued": queued,
            }.items()
        },
    }


def loop_as_batches(health):
    """The continuous decode loops' counters of an ``/api/health`` answer under the fixed batcher's names:
    a decode step is a batch of the rows it decoded (no wait: rows join between steps)."""
    loops = health["decode_loops"]
    return {
        "batches": loops["steps"],
        "batched_texts": loops["rows"],
        "batch_seconds": loops["seconds"],
        "batch_cpu_seconds": loops["cpu_seconds"],
        "gather_seconds": 0,
        "batch_sizes": loops["step_sizes"],
    }


def batch_size_deciles(before, after):
    """``"p10/p50/p90"`` of the sizes of the batches formed between two ``/api/health`` answers."""
    counts = collections.Counter({int(k): v for k, v in after.items()})
    counts.subtract({int(k): v for k, v in before.items()})
    sizes = sorted(collections.Counter({k: v for k, v in counts.items() if v > 0}).elements())
    if not sizes:
        return "-"
    return "/".join(str(sizes[min(len(sizes) - 1, int(q * len(sizes)))]) for q in (0.1, 0.5, 0.9))


def cpu_seconds(pid, thread=None):
    """User + system CPU seconds process ``pid`` has used (all its threads, or only its ``thread``
    id: the main thread's is ``pid``; Linux ``/proc``), or NaN."""
    where = f"/proc/{pid}/task/{thread}/stat" if thread else f"/proc/{pid}/stat"
    try:
        fields = Path(where).read_text().rpartition(")")[2].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_queue_seconds(pid):
    """Seconds the threads of process ``pid`` (those alive now) have waited, runnable, for a core
    (Linux ``/proc/PID/task/*/schedstat``): the CPU other work on the machine took from it."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        with contextlib.suppress(OSError, ValueError, IndexError):  # a thread that just ended
            total += int(stat.read_text().split()[1])
    return total / 1e9


def batch_throughput(translator, sentences, batch_size=64, min_seconds=1.0):
    """``(sentences/s, sentences per CPU-second of this process, translations)`` of
    ``translator.translate(sentences, batch_size)`` (``translate --file``), run again until
    ``min_seconds`` have passed: one pass of 512 sentences on CTranslate2 is ~0.2 s, a sample too
    short for this machine, whose speed drifts by a fifth from one minute to the next."""
    start, cpu, done = time.perf_counter(), cpu_seconds(os.getpid()), 0
    while not done or time.perf_counter() - start < min_seconds:
        translations = translator.translate(sentences, batch_size=batch_size, progress=False)
        done += len(sentences)
    cpu = cpu_seconds(os.getpid()) - cpu
    rate = done / (time.perf_counter() - start)
    return rate, done / cpu if cpu > 0 else float("nan"), dict(zip(sentences, translations))


def group_throughput(translator, sentences, size, threads=1):
    """``(sentences/s, CPU ms a sentence)`` of ``Translator.translate`` on consecutive groups of
    ``size`` sentences in corpus-sample order, ``threads`` groups at once: the batches a server
    with ``threads`` decode threads forms from one-sentence clients (``translate --file`` sorts
    the whole file by length into batches of 64 instead). The first ``max(64, 8 * size)``
    sentences only: single sentences are slow."""
    sentences = sentences[: max(64, 8 * size)]
    groups = [sentences[i : i + size] for i in range(0, len(sentences), size)]
    start, cpu = time.perf_counter(), cpu_seconds(os.getpid())
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda group: translator.translate(group, batch_size=size, progress=False), groups))
    cpu = cpu_seconds(os.getpid()) - cpu
    return len(sentences) / (time.perf_counter() - start), 1000 * cpu / len(sentences)


def preparation_ms(translator, sentences, size):
    """CPU ms a sentence of what :meth:`Translator.translate` does before decoding, on groups of ``size``:
    NFC, the sentence split, the places pre-pass (when the translator has it) and the tokens."""
    from transformer_tf.code_switch import with_stand_ins
    from transformer_tf.sentences import split_sentences

    start = time.thread_time()
    for i in range(0, len(sentences), size):
        group = [s for text in sentences[i : i + size] for s in split_sentences(unicodedata.normalize("NFC", text))]
        translator.encode_sources([with_stand_ins(s)[0] for s in group] if translator.places else group)
    return 1000 * (time.thread_time() - start) / len(sentences)


def screenshot(url, path):
    """The live page after asking for the article's sentence, taken in headless Chromium."""
    from headless import chromium
    from selenium.webdriver.support.ui import WebDriverWait

    driver = chromium(width=1100, height=1250)
    try:
        driver.get(url)
        driver.find_element("id", "text").send_keys(ARTICLE_SENTENCE + " She left early.")
        driver.find_element("id", "submit").click()
        WebDriverWait(driver, 120).until(lambda d: d.execute_script("return window.attentionExplorer.loads > 0"))
        time.sleep(0.5)
        driver.save_screenshot(str(path))
        severe = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        if severe:
            raise SystemExit(f"console errors on the page: {severe}")
    finally:
        driver.quit()
    print(f"wrote {path}")


def build_parser():
    """The command line; it needs no TensorFlow."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=20.0, help="per client count (default %(default)s)")
    parser.add_argument("--sentences", type=int, default=512, help="distinct corpus sentences (default %(default)s)")
    parser.add_argument(
        "--warmup",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="the same load before each row, not counted (default %(default)s; 0: a cold start in the row)",
    )
    parser.add_argument("--batch-wait-ms", type=float, default=5.0, help="the server's flag (default %(default)s)")
    several = "the server's flag; several: one server after the other, in this run (default %(default)s)"
    for flag, choices, default in (
        ("--engine", ENGINES, DEFAULT_ENGINE),
        ("--batching", ("continuous", "fixed"), BATCHING),
        ("--event-loop", EVENT_LOOPS, EVENT_LOOP),
        ("--translate-route", TRANSLATE_ROUTES, TRANSLATE_ROUTE),
    ):
        parser.add_argument(flag, nargs="+", choices=choices, default=[default], help=several)
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1],
        help="the server's flag (processes); several: one server each (default %(default)s)",
    )
    parser.add_argument(
        "--decode-threads",
        type=int,
        nargs="+",
        help="the server's flag (decode loops per model when continuous); several: one server each "
        "(default: the server's own for its engine)",
    )
    for flag, default in (("--slots", DECODE_SLOTS), ("--intra-op-threads", INTRA_OP_THREADS)):
        parser.add_argument(flag, type=int, default=default, help="the server's flag (default %(default)s)")
    parser.add_argument(
        "--file-intra-op-threads",
        type=int,
        default=0,
        metavar="N",
        help="the same setting for translate --file and the in-process groups, timed in this process "
        "(default %(default)s: TensorFlow's own, as translate --file runs)",
    )
    parser.add_argument(
        "--client",
        nargs="+",
        choices=load_clients.CLIENTS,
        default=["auto"],
        help="the load generator: wrk (C, little CPU), python (asyncio clients in this process, which also "
        "check the answers) or auto: wrk when installed; several: one row each, side by side (default %(default)s)",
    )
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "spa-eng" / "spa.txt"))
    parser.add_argument(
        "--screenshot", metavar="PNG", help="also save the live page, e.g. notebooks/figures/serve_page.png"
    )
    return parser


class Baseline:
    """``translate --file`` on one engine, timed in this process around each row of the servers on it."""

    def __init__(self, engine, sentences):
        from transformer_tf.engines import open_translator
        from transformer_tf.translate_cli import BATCH_SIZES

        self.batch_size = 64 if engine == "tensorflow" else BATCH_SIZES[engine]  # what each comparison ran before
        self.translator = open_translator(ROOT / "checkpoints" / "en_es", engine)
        self.translator.translate(sentences[:64], progress=False)  # trace the decoder before timing
        self.sentences = sentences
        *self.latest, self.expected = batch_throughput(self.translator, sentences, self.batch_size)
        self.timings = [tuple(self.latest)]

    def around(self):
        """Time it again; the mean of this timing and the one before (sentences/s, per CPU-second)."""
        before = self.latest
        *self.latest, _ = batch_throughput(self.translator, self.sentences, self.batch_size)
        self.timings.append(tuple(self.latest))
        return tuple((a + b) / 2 for a, b in zip(before, self.latest))


def servers(args):
    """``(engine, batching, decode threads, event loop, translate route, workers)`` of each server to run, the engine
    resolved for en_es; CTranslate2 with the continuous loop is refused (said, and left out)."""
    from transformer_tf.serve_models import serve_engine

    combos = []
    for engine, batching in itertools.product(args.engine, args.batching):
        try:
            engine = serve_engine(ROOT / "checkpoints" / "en_es", engine, batching)
        except TransformerTFError as err:
            print(f"left out: --engine {engine} --batching {batching}: {err}", file=sys.stderr)
            continue
        threads = args.decode_threads or [default_decode_threads({engine})]
        combos += [
            (engine, batching, n, loop, route, workers)
            for workers in args.workers
            for n in threads
            for loop in args.event_loop
            for route in args.translate_route
        ]
    return list(dict.fromkeys(combos))


def serve_rows(args, combo, baseline, sentences):
    """Start one server (``combo``: :func:`servers`'), load it with each client count and kind; its rows."""
    engine, batching, threads, event_loop, route, workers = combo
    server_flags = {  # auto: CTranslate2 for en_es, and the RNN served beside it stays on TensorFlow
        "workers": workers,
        "engine": "auto" if engine == "ctranslate2" else engine,
        "batching": batching,
        "slots": args.slots,
        "batch-wait-ms": args.batch_wait_ms,
        "decode-threads": threads,
        "intra-op-threads": args.intra_op_threads,
        "event-loop": event_loop,
        "translate-route": route,
    }
    label = f"{engine}, {batching}, {threads} thread{'s' * (threads > 1)}" + (
        f", {args.slots} slots" * (batching == "continuous")
    )
    label += f", {workers} workers" * (workers > 1) + f", {event_loop}" * (len(args.event_loop) > 1)
    label += f", {route} route" * (len(args.translate_route) > 1)
    process, address = start_server([arg for flag, value in server_flags.items() for arg in (f"--{flag}", str(value))])
    rows = []
    try:
        for clients, kind in itertools.product(args.clients, args.client):  # translate --file timed around each row
            row = load(kind, address, sentences, clients, args.seconds, baseline.expected, args.warmup)
            size = max(1, round(row["mean_batch"]))
            row["ceiling"] = group_throughput(baseline.translator, sentences, size, min(threads * workers, clients))
            rows.append({"server": label, **row, "batch": baseline.around()})
        if args.screenshot:
            screenshot(f"http://{address}/", args.screenshot)
    finally:
        process.terminate()  # SIGTERM: the server finishes what is in flight and exits 0
        if process.wait(timeout=60) != 0:
            print(f"the server exited {process.returncode}", file=sys.stderr)
    return rows


def main():
    parser = build_parser()
    args = parser.parse_args()
    if not 0 < args.seconds <= 300:
        parser.error("--seconds: give 1 to 300 (the load is bounded in time)")
    if not 0 <= args.warmup <= 60:
        parser.error("--warmup: give 0 to 60 seconds")

    cli_common.import_tensorflow_quietly()  # TensorFlow's start-up lines, muted (unless TF_CPP_MIN_LOG_LEVEL is set)
    from transformer_tf.serve import set_op_threads
    from transformer_tf.translate import Translator

    set_op_threads(args.file_intra_op_threads)  # before this process's first TensorFlow op
    sentences = corpus_sentences(args.data, args.sentences)
    combos = servers(args)
    baselines = {engine: Baseline(engine, sentences) for engine in dict.fromkeys(c[0] for c in combos)}
    rows = [row for combo in combos for row in serve_rows(args, combo, baselines[combo[0]], sentences)]
    for engine, baseline in baselines.items():
        print(
            f"translate --file on {engine} (batch {baseline.batch_size}, {len(sentences)} sentences), sentences/s "
            f"before, between and after its rows: {', '.join(f'{rate:.1f}' for rate, _ in baseline.timings)}"
        )
    print(
        f"{args.seconds:g} s per row after {args.warmup:g} s of the same load, one sentence a request, 127.0.0.1, "
        f"model en_es, greedy, "
        f"serve --slots {args.slots} --batch-wait-ms {args.batch_wait_ms:g} "
        f"--intra-op-threads {args.intra_op_threads}; "
        f"this process (translate --file, groups): intra-op threads {args.file_intra_op_threads or 'default'}\n"
    )
    print_table(rows)
    tensorflow = Translator.from_checkpoint(ROOT / "checkpoints" / "en_es")  # the same steps on both engines
    print_breakdown(rows, preparation_ms(tensorflow, sentences, 16))
    print_stages(rows)
    return 1 if any(row["errors"] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
