"""Does the data preparation scale? Synthetic corpora of 0.1 M, 0.5 M and 2 M pairs.

Each corpus recombines ``spa.txt``: line ``i`` joins two random pairs of it (English with
English, Spanish with Spanish), every line different. For each size a fresh Python process
(nothing cached, nothing shared) runs what ``transformer-tf train`` runs before the model
(:func:`transformer_tf.prepare.prepare_shards`: both passes over the corpus, the joint
tokenizer, augmentation, shards) and then:

- the input pipeline alone: the training stream of the shards, batches pulled as fast as
  it gives them (ms a batch, after a warm-up);
- a few training steps of a tiny Transformer on that stream (ms a step, after tracing).

The parent reads each child's peak RSS from ``os.wait4`` and prints one table. The helper
process that encodes (:mod:`transformer_tf.records`) is not in it: its ``ru_maxrss`` shows the
parent's size at the fork (~0.8 GB), not its own use, which ``/proc/PID/status`` gives
(VmHWM 57 MB after 0.5 M pairs).

``--baseline DIR`` compares the preparation alone with another copy of the package (for
example ``git archive 62ef553 | tar -x -C /tmp/old``): for each size the two run in turn,
``--rounds`` times, each in a fresh process on the same corpus, and the table gives each
one's pairs/s (median), the ratio, and whether their shards are byte for byte the same
(every shard's SHA-256).

    python bench/data_scale.py --data ../shared/data/spa-eng/spa.txt [--sizes 100000 500000 2000000]
    python bench/data_scale.py --sizes 100000 500000 --baseline /tmp/old --rounds 3
"""

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEPS = 30  # training steps timed (after 5 warm-up steps)
PIPELINE_BATCHES = 300  # batches the pipeline alone gives (after 20 warm-up batches)


def make_corpus(spa, size, path, seed=0):
    """``size`` distinct lines, each two random spa.txt pairs joined side by side."""
    pairs = []
    for line in Path(spa).read_text(encoding="utf-8").splitlines():
        fields = line.split("\t")
        if len(fields) >= 2:
            pairs.append((fields[0], fields[1]))
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        for code in rng.sample(range(len(pairs) ** 2), size):  # distinct (a, b) codes: distinct lines
            (en_a, es_a), (en_b, es_b) = pairs[code // len(pairs)], pairs[code % len(pairs)]
            f.write(f"{en_a} {en_b}\t{es_a} {es_b}\n")


def child(corpus, folder, prepare_only=False):
    """One size: preparation, pipeline alone, training steps (not with ``prepare_only``); prints one JSON line."""
    import cli_common

    cli_common.quiet_tensorflow()
    cli_common.import_tensorflow_quietly()  # TensorFlow's start-up lines, muted (unless TF_CPP_MIN_LOG_LEVEL is set)
    import keras

    from transformer_tf.config import TrainConfig
    from transformer_tf.prepare import prepare_shards
    from transformer_tf.train import build_model, make_tokenizers

    config = TrainConfig(data=str(corpus), num_layers=1, d_model=32, num_heads=2, dff=64, batch_size=64)
    start, cpu_start = time.perf_counter(), time.process_time()
    data = prepare_shards(config, folder, make_tokenizers, verbose=1)
    prepare_s, prepare_cpu_s = time.perf_counter() - start, time.process_time() - cpu_start
    helper = resource.getrusage(resource.RUSAGE_CHILDREN)
    prepared = {
        "prepare_s": prepare_s,
        "prepare_cpu_s": prepare_cpu_s,
        "helper_cpu_s": helper.ru_utime + helper.ru_stime,
        "pairs_read": data.manifest["cleaning"]["read"],
        "train_pairs": data.manifest["splits"]["train"]["pairs"],
        "augmented": data.manifest["augmented"],
        "shards_sha256": [f["sha256"] for entry in data.manifest["splits"].values() for f in entry["files"]],
    }
    if prepare_only:
        print(json.dumps(prepared))
        return
    steps = data.steps_per_epoch(config.batch_size, config.max_tokens)

    batches = iter(data.train_stream(config.seed, 0, steps, config.batch_size, config.max_tokens))
    for _ in range(20):
        next(batches)
    start = time.perf_counter()
    for _ in range(PIPELINE_BATCHES):
        next(batches)
    pipeline_ms = (time.perf_counter() - start) / PIPELINE_BATCHES * 1000

    model = build_model(config, data.tokenizers[0].vocab_size, data.tokenizers[1].vocab_size)
    times = []

    class Clock(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.t = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            times.append(time.perf_counter() - self.t)

    stream = data.train_stream(config.seed, 0, steps, config.batch_size, config.max_tokens)
    model.fit(stream, steps_per_epoch=STEPS + 5, epochs=1, callbacks=[Clock()], shuffle=False, verbose=0)
    step_ms = sorted(times[5:])[len(times[5:]) // 2] * 1000  # median after tracing
    print(json.dumps({**prepared, "pipeline_ms": pipeline_ms, "step_ms": step_ms}))


def run_child(corpus, folder, code=None, prepare_only=False):
    """One fresh process on ``corpus`` (the package of ``code``, a folder, else this one's):
    its JSON line, wall time and peak RSS."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [code, os.environ.get("PYTHONPATH")]))}
    flags = ["--prepare-only"] if prepare_only else []
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", str(corpus), str(folder), *flags],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    start = time.perf_counter()
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status:
        raise SystemExit(f"the child for {corpus} failed (status {status}):\n{out}")
    result = json.loads(out.strip().splitlines()[-1])
    return {**result, "wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024}


def run_size(spa, size, workdir):
    corpus = Path(workdir) / f"corpus-{size}.tsv"
    make_corpus(spa, size, corpus)
    result = run_child(corpus, Path(workdir) / f"run-{size}")
    corpus.unlink()
    return {**result, "size": size}


def compare(spa, sizes, baseline, rounds, workdir):
    """The preparation of this code and of ``baseline`` in turn, ``rounds`` times a size; one table."""
    print(
        "| pairs | baseline pairs/s (median) | this code pairs/s (median) | ratio | CPU-µs a pair, baseline "
        "| CPU-µs a pair, this code (main + helper) | shards identical |"
    )
    print("|---:|---:|---:|---:|---:|---:|---|")
    for size in sizes:
        corpus = Path(workdir) / f"corpus-{size}.tsv"
        make_corpus(spa, size, corpus)
        runs = {"baseline": [], "this": []}
        for round_ in range(rounds):
            for name, code in (("baseline", str(Path(baseline).resolve())), ("this", None)):
                folder = Path(workdir) / f"{name}-{size}-{round_}"  # a fresh folder: no shards to reuse
                runs[name].append(run_child(corpus, folder, code, prepare_only=True))
                shutil.rmtree(folder)
                print(f"{size:,} {name}: {size / runs[name][-1]['prepare_s']:,.0f} pairs/s", file=sys.stderr)
        rate = {name: statistics.median(size / r["prepare_s"] for r in rs) for name, rs in runs.items()}
        cpu = {  # medians, µs a pair: the main process's (threads included) and the helper's
            name: [
                statistics.median(r.get(key, 0) for r in rs) / size * 1e6 for key in ("prepare_cpu_s", "helper_cpu_s")
            ]
            for name, rs in runs.items()
        }
        same = all(r["shards_sha256"] == runs["baseline"][0]["shards_sha256"] for rs in runs.values() for r in rs)
        print(
            f"| {size:,} | {rate['baseline']:,.0f} | {rate['this']:,.0f} | {rate['this'] / rate['baseline']:.2f}x "
            f"| {sum(cpu['baseline']):.0f} | {cpu['this'][0]:.0f} + {cpu['this'][1]:.0f} | {'yes' if same else 'NO'} |"
        )
        corpus.unlink()
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/spa-eng/spa.txt", help="spa.txt to recombine")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 500_000, 2_000_000])
    parser.add_argument("--baseline", help="another copy of the package to compare the preparation with")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each code a size, with --baseline")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--prepare-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(*args.child, prepare_only=args.prepare_only)
    if args.baseline:
        with tempfile.TemporaryDirectory(prefix="data-scale-") as workdir:
            return compare(args.data, args.sizes, args.baseline, args.rounds, workdir)
    rows = []
    with tempfile.TemporaryDirectory(prefix="data-scale-") as workdir:
        for size in args.sizes:
            rows.append(run_size(args.data, size, workdir))
            print(f"done {size:,} pairs", file=sys.stderr)
    print(
        "| pairs | process wall s | preparation s (CPU s: main + helper) | pairs/s prepared (per main CPU s) "
        "| training pairs (augmented) | pipeline ms/batch | training step ms | pipeline / step | peak RSS MB |"
    )
    print("|---:" * 9 + "|")
    for r in rows:
        print(
            f"| {r['size']:,} | {r['wall_s']:.0f} | {r['prepare_s']:.0f} "
            f"({r['prepare_cpu_s']:.0f} + {r['helper_cpu_s']:.0f}) "
            f"| {r['pairs_read'] / r['prepare_s']:,.0f} ({r['pairs_read'] / r['prepare_cpu_s']:,.0f}) "
            f"| {r['train_pairs']:,} | {r['pipeline_ms']:.1f} | {r['step_ms']:.0f} "
            f"| {r['pipeline_ms'] / r['step_ms']:.1%} | {r['peak_rss_mb']:,.0f} |"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if len(rows) > 1:
        print(
            f"peak RSS {rows[-1]['size']:,} / {rows[0]['size']:,} pairs: "
            f"{rows[-1]['peak_rss_mb'] / rows[0]['peak_rss_mb']:.2f}x (goal: within 1.5x)"
        )


if __name__ == "__main__":
    main()
