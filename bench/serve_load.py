"""Load test of ``transformer-tf serve``: N concurrent clients, each sending one-sentence
requests back to back for a fixed time, against the real server on 127.0.0.1; compared
with the batch throughput of ``translate --file`` on the same sentences, in the same run.

    python bench/serve_load.py [--clients 1 8 32] [--seconds 20] [--sentences 512]
                               [--screenshot notebooks/figures/serve_page.png]

Prints one row per client count: requests/s, p50 and p99 latency, errors (any answer but
200, or a connection error), the decode batches the server formed (mean size, the
10/50/90th percentiles of their sizes, the mean time a batch waited for more requests after
its first) and the share of the time its worker threads spent decoding, summed (its /api/health
counters), the share of answers
equal to the batch translation of the same sentence, and the ratio of sentences/s to
``translate --file``; the server's sentences per CPU-second (its process, all threads, from
``/proc``) against ``translate --file``'s (less moved by other work on a shared machine than
wall-clock rates); last, the same wall-clock ratio for ``Translator.translate`` on unsorted groups
of N sentences in this process, no server (:func:`group_throughput`: what N one-sentence
clients can give at best). ``translate --file`` is ``Translator.translate(sentences,
batch_size=64)`` (what the command runs, without its start-up), timed in this process
before and after each row while the server is idle; each row's ratio is against the mean
of the two around it (other work on the machine changes both alike). The server runs in
its own process with the default models (``checkpoints/en_es`` and
``checkpoints/en_es_rnn``); clients ask ``en_es``.
"""

import argparse
import collections
import http.client
import itertools
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import cli_common

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


def client(address, sentences, counter, stop_at, results):
    """Send one-sentence requests on one kept-alive connection until ``stop_at``; append
    ``(latency s, sentence, translation or None)`` to ``results``."""
    connection = http.client.HTTPConnection(address, timeout=120)
    headers = {"Content-Type": "application/json"}
    while time.perf_counter() < stop_at:
        sentence = sentences[next(counter) % len(sentences)]
        start = time.perf_counter()
        try:
            connection.request("POST", "/api/translate", json.dumps({"sentences": [sentence]}), headers)
            response = connection.getresponse()
            answer = json.loads(response.read())
            translation = answer["translations"][0] if response.status == 200 else None
        except (OSError, http.client.HTTPException, ValueError):
            connection.close()
            connection = http.client.HTTPConnection(address, timeout=120)
            translation = None
        results.append((time.perf_counter() - start, sentence, translation))
    connection.close()


def load(address, sentences, clients, seconds, expected, server_pid):
    """One row of the table: ``clients`` threads for ``seconds``."""
    before, cpu = get(address, "/api/health"), cpu_seconds(server_pid)
    results, counter = [], itertools.count(random.randrange(len(sentences)))
    start = time.perf_counter()
    threads = [
        threading.Thread(target=client, args=(address, sentences, counter, start + seconds, results))
        for _ in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    after, cpu = get(address, "/api/health"), cpu_seconds(server_pid) - cpu
    latencies = sorted(latency for latency, _, translation in results if translation is not None)
    answered = len(latencies)
    batches = after["batches"] - before["batches"]
    return {
        "clients": clients,
        "requests": len(results),
        "per_second": answered / elapsed,
        "per_cpu_second": answered / cpu if cpu > 0 else float("nan"),
        "p50": 1000 * latencies[answered // 2] if answered else float("nan"),
        "p99": 1000 * latencies[min(answered - 1, int(answered * 0.99))] if answered else float("nan"),
        "errors": len(results) - answered,
        "mean_batch": (after["batched_texts"] - before["batched_texts"]) / max(batches, 1),
        "decoding": (after["batch_seconds"] - before["batch_seconds"]) / elapsed,
        # (a server older than these two counters: 0 and "-")
        "wait_ms": 1000 * (after.get("gather_seconds", 0) - before.get("gather_seconds", 0)) / max(batches, 1),
        "sizes": batch_size_deciles(before.get("batch_sizes", {}), after.get("batch_sizes", {})),
        "same": sum(translation == expected[s] for _, s, translation in results if translation is not None)
        / max(answered, 1),
    }


def batch_size_deciles(before, after):
    """``"p10/p50/p90"`` of the sizes of the batches formed between two ``/api/health`` answers."""
    counts = collections.Counter({int(k): v for k, v in after.items()})
    counts.subtract({int(k): v for k, v in before.items()})
    sizes = sorted(collections.Counter({k: v for k, v in counts.items() if v > 0}).elements())
    if not sizes:
        return "-"
    return "/".join(str(sizes[min(len(sizes) - 1, int(q * len(sizes)))]) for q in (0.1, 0.5, 0.9))


def cpu_seconds(pid):
    """User + system CPU seconds process ``pid`` has used (all its threads; Linux ``/proc``), or NaN."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def batch_throughput(translator, sentences):
    """``(sentences/s, sentences per CPU-second of this process, translations)`` of
    ``Translator.translate(sentences, batch_size=64)`` (``translate --file``)."""
    start, cpu = time.perf_counter(), cpu_seconds(os.getpid())
    translations = translator.translate(sentences, batch_size=64)
    cpu = cpu_seconds(os.getpid()) - cpu
    rate = len(sentences) / (time.perf_counter() - start)
    return rate, len(sentences) / cpu if cpu > 0 else float("nan"), dict(zip(sentences, translations))


def group_throughput(translator, sentences, size):
    """Sentences/s of ``Translator.translate`` on consecutive groups of ``size`` sentences in
    corpus-sample order: the batches a server can form from ``size`` one-sentence clients at
    best (its ceiling; ``translate --file`` sorts the whole file by length instead). The first
    ``max(64, 8 * size)`` sentences only: single sentences are slow."""
    sentences = sentences[: max(64, 8 * size)]
    start = time.perf_counter()
    for i in range(0, len(sentences), size):
        translator.translate(sentences[i : i + size], batch_size=size)
    return len(sentences) / (time.perf_counter() - start)


def print_table(rows, baselines, cpu_baselines):
    """One row per client count; ``baselines``: ``translate --file``'s sentences/s before, between
    and after the rows (each row's ratio is against the mean of the two around it), and
    ``cpu_baselines`` its sentences per CPU-second at the same times."""
    print(
        "| clients | requests/s | p50 ms | p99 ms | errors | mean batch | batch sizes p10/p50/p90 "
        "| wait per batch ms | decoding (threads summed) | same as batch "
        "| translate --file around the row | ratio | per CPU-second: server / translate --file "
        "| unsorted groups of N in-process, ratio |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for i, row in enumerate(rows):
        batch = (baselines[i] + baselines[i + 1]) / 2
        cpu_batch = (cpu_baselines[i] + cpu_baselines[i + 1]) / 2
        print(
            f"| {row['clients']} | {row['per_second']:.1f} | {row['p50']:.0f} | {row['p99']:.0f} | "
            f"{row['errors']} | {row['mean_batch']:.1f} | {row['sizes']} | {row['wait_ms']:.0f} | "
            f"{100 * row['decoding']:.0f}% | {100 * row['same']:.1f}% | {batch:.1f} | "
            f"{100 * row['per_second'] / batch:.0f}% | "
            f"{row['per_cpu_second']:.0f} / {cpu_batch:.0f} = {100 * row['per_cpu_second'] / cpu_batch:.0f}% | "
            f"{100 * row['ceiling'] / batch:.0f}% |"
        )


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
    parser.add_argument("--batch-wait-ms", type=float, default=5.0, help="the server's flag (default %(default)s)")
    parser.add_argument("--decode-threads", type=int, default=2, help="the server's flag (default %(default)s)")
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "spa-eng" / "spa.txt"))
    parser.add_argument(
        "--screenshot", metavar="PNG", help="also save the live page, e.g. notebooks/figures/serve_page.png"
    )
    return parser


def main():
    parser = build_parser()
    args = parser.parse_args()
    if not 0 < args.seconds <= 300:
        parser.error("--seconds: give 1 to 300 (the load is bounded in time)")

    cli_common.import_tensorflow_quietly()  # TensorFlow's start-up lines, muted (unless TF_CPP_MIN_LOG_LEVEL is set)
    from transformer_tf.translate import Translator

    sentences = corpus_sentences(args.data, args.sentences)
    process, address = start_server(
        ["--batch-wait-ms", str(args.batch_wait_ms), "--decode-threads", str(args.decode_threads)]
    )
    try:
        translator = Translator.from_checkpoint(ROOT / "checkpoints" / "en_es")
        translator.translate(sentences[:64])  # trace the decoder before timing
        baselines, cpu_baselines, expected = zip(*[batch_throughput(translator, sentences)])
        rows = []
        for clients in args.clients:  # translate --file timed before and after each row: the machine is shared
            rows.append(load(address, sentences, clients, args.seconds, expected[0], process.pid))
            rows[-1]["ceiling"] = group_throughput(translator, sentences, clients)
            rate, cpu_rate, _ = batch_throughput(translator, sentences)
            baselines, cpu_baselines = baselines + (rate,), cpu_baselines + (cpu_rate,)
        print(
            f"translate --file (batch 64, {len(sentences)} sentences), sentences/s before, between and after "
            f"the rows: {', '.join(f'{b:.1f}' for b in baselines)}"
        )
        print(
            f"{args.seconds:g} s per row, one sentence a request, 127.0.0.1, model en_es, greedy, "
            f"serve --batch-wait-ms {args.batch_wait_ms:g} --decode-threads {args.decode_threads}\n"
        )
        print_table(rows, baselines, cpu_baselines)
        if args.screenshot:
            screenshot(f"http://{address}/", args.screenshot)
        return 1 if any(row["errors"] for row in rows) else 0
    finally:
        process.terminate()  # SIGTERM: the server finishes what is in flight and exits 0
        if process.wait(timeout=60) != 0:
            print(f"the server exited {process.returncode}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
