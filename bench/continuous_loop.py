"""The continuous decode loop in process, no server: N simulated clients, each submitting one corpus
sentence, waiting for its answer, pausing ``--pause-ms`` (the round trip a real client adds), and
submitting the next; loops of different settings side by side, in rounds, in one process.

    python bench/continuous_loop.py [--clients 32] [--seconds 8] [--rounds 2] [--slots 32]
                                    [--setting steps_per_call=1 steps_per_call=4]

Prints for each round and setting: sentences/s, CPU-ms a sentence (this process, all threads),
rows a step, admissions; and ``translate --file``'s CPU-ms a sentence (``Translator.translate``,
batch 64) on the same sentences. TensorFlow runs one core an op, as ``serve`` does.
"""

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import cli_common

cli_common.quiet_tensorflow()
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from serve_load import corpus_sentences, cpu_seconds  # noqa: E402  (the same sentences and clock)


def run_clients(decoder, ids, clients, seconds, pause):
    """``(sentences/s, CPU-ms a sentence, rows a step, admissions)`` of ``clients`` threads for ``seconds``."""
    stop, done = time.perf_counter() + seconds, [0] * clients

    def client(k):
        i = k
        while time.perf_counter() < stop:
            decoder.submit(ids[i % len(ids)]).result()
            done[k] += 1
            i += clients
            time.sleep(pause)

    cpu, start = cpu_seconds(os.getpid()), time.perf_counter()
    steps, rows, admissions = decoder.steps, decoder.row_steps, decoder.admissions
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answered, elapsed = sum(done), time.perf_counter() - start
    cpu = cpu_seconds(os.getpid()) - cpu
    per_step = (decoder.row_steps - rows) / max(1, decoder.steps - steps)
    return answered / elapsed, 1000 * cpu / max(1, answered), per_step, decoder.admissions - admissions


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--slots", type=int, default=32)
    parser.add_argument("--pause-ms", type=float, default=3.0)
    parser.add_argument("--setting", nargs="+", default=["steps_per_call=1", "steps_per_call=4"])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "spa-eng" / "spa.txt"))
    args = parser.parse_args()
    settings = [dict([(s.split("=")[0], int(s.split("=")[1]))]) for s in args.setting]

    cli_common.import_tensorflow_quietly()
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    from transformer_tf.continuous_decode import ContinuousDecoder
    from transformer_tf.fast_decode import bfloat16_copy
    from transformer_tf.hardware import cpu_has_bfloat16
    from transformer_tf.translate import Translator

    translator = Translator.from_checkpoint(ROOT / "checkpoints" / "en_es", places=False, streams=1)
    sentences = corpus_sentences(args.data, 512)
    ids = translator.encode_sources(sentences)
    model = translator.model
    compute = bfloat16_copy(model) if cpu_has_bfloat16() else model
    loops = [
        ContinuousDecoder(model, translator.max_tokens, translator.shortlist, args.slots, compute=compute, **setting)
        for setting in settings
    ]
    translator.translate(sentences[:64], progress=False)
    for loop in loops:  # traced before timing
        [f.result() for f in [loop.submit(x) for x in ids[:64]]]
    cpu = cpu_seconds(os.getpid())
    translator.translate(sentences, batch_size=64, progress=False)
    print(
        f"translate --file (batch 64): {1000 * (cpu_seconds(os.getpid()) - cpu) / len(sentences):.2f} CPU-ms a sentence"
    )
    for round_ in range(args.rounds):
        for setting, loop in zip(args.setting, loops):
            rate, cpu_ms, per_step, admissions = run_clients(
                loop, ids, args.clients, args.seconds, args.pause_ms / 1000
            )
            print(
                f"round {round_ + 1}, {setting}: {rate:.0f} sentences/s, {cpu_ms:.2f} CPU-ms a sentence, "
                f"{per_step:.1f} rows a step, {admissions} admissions",
                flush=True,
            )
    for loop in loops:
        loop.close()


if __name__ == "__main__":
    main()
