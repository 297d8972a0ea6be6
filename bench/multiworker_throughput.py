"""One training process against two workers of ``--strategy multiworker``, side by side.

Alternating rounds, each of fresh processes on this machine: one process training with
``model.fit`` on batches of 64, then two localhost workers (``TF_CONFIG``) on 32 each (the
same global batch). Every process times its epochs after the first (tracing excluded);
the report is the median seconds a step and target tokens (non-padding) a second.

    python bench/multiworker_throughput.py [--rounds 2] [--epochs 3] [--data spa.txt --max-pairs 3000]

On one machine the workers share its cores: this measures what two processes cost, not
what two machines gain.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import cli_common  # noqa: E402

cli_common.quiet_tensorflow()  # before TensorFlow loads; TF_CPP_MIN_LOG_LEVEL=0 shows its logs

ROOT = Path(__file__).resolve().parents[1]

# argv: settings (JSON), strategy, checkpoint folder, output JSON of epoch times
RUN = """
import json, sys, time
import cli_common
cli_common.import_tensorflow_quietly()  # TensorFlow's start-up lines, muted (unless TF_CPP_MIN_LOG_LEVEL is set)
import keras
from transformer_tf.config import TrainConfig
from transformer_tf.train import make_strategy, train

strategy = make_strategy(sys.argv[2]) if sys.argv[2] != "default" else None

class EpochTimes(keras.callbacks.Callback):
    times = []
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()
    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)

train(TrainConfig(**json.loads(sys.argv[1])), sys.argv[3], sys.argv[3] + "-logs", callbacks=[EpochTimes()],
      verbose=0, strategy=strategy)
with open(sys.argv[4], "w") as f:
    json.dump(EpochTimes.times, f)
"""


def run(settings, strategy, workers, folder):
    """Epoch times (seconds) of one process or of the chief of ``workers`` processes."""
    from transformer_tf.worker_startup import local_tf_configs

    configs = local_tf_configs(workers)
    procs = []
    for i in range(workers):
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        if strategy == "multiworker":
            env["TF_CONFIG"] = configs[i]
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    RUN,
                    json.dumps(settings),
                    strategy,
                    str(folder / f"ck{i}"),
                    str(folder / f"times{i}.json"),
                ],
                env=env,
            )
        )
    for proc in procs:
        if proc.wait(timeout=3600):
            raise SystemExit(f"a training process failed (status {proc.returncode})")
    return json.loads((folder / "times0.json").read_text())


def epoch_tokens_and_steps(settings, folder, global_batch, drop_remainder):
    """Real target tokens and batches of one epoch of the training stream."""
    import tensorflow as tf

    from transformer_tf.config import TrainConfig
    from transformer_tf.data import batch_pairs, encode_pairs, load_splits
    from transformer_tf.tokenizer import load_tokenizers
    from transformer_tf.train import training_pairs

    config = TrainConfig(**settings)
    pairs, _ = training_pairs(config, load_splits(config))
    source, target = load_tokenizers(folder)
    encoded, _ = encode_pairs(pairs, source, target, config.max_tokens)
    tokens = steps = 0
    for _, y in batch_pairs(encoded, global_batch, config.max_tokens, drop_remainder=drop_remainder):
        tokens += int(tf.math.count_nonzero(y))
        steps += 1
    return tokens, steps


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3, help="per process; the first is not timed")
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "spa-eng" / "spa.txt"))
    parser.add_argument("--max-pairs", type=int, default=3000)
    parser.add_argument("--global-batch", type=int, default=64)
    args = parser.parse_args()

    # The model: 1 layer, d_model 32, dff 64, 2 heads, vocabulary 500.
    settings = {
        "data": args.data,
        "max_pairs": args.max_pairs,
        "num_layers": 1,
        "d_model": 32,
        "dff": 64,
        "num_heads": 2,
        "vocab_size": 500,
        "epochs": args.epochs,
        "checkpoint_every": 10**6,
    }
    contenders = {
        "1 process (fit), batch 64": ("default", 1, {"batch_size": args.global_batch}),
        "2 workers, 32 each": ("multiworker", 2, {"batch_size": args.global_batch // 2}),
    }
    times = {name: [] for name in contenders}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name, (strategy, workers, extra) in contenders.items():
                folder = Path(tmp) / f"{r}-{workers}"
                folder.mkdir()
                times[name] += run({**settings, **extra}, strategy, workers, folder)[1:]
        folder = Path(tmp) / "0-1" / "ck0"  # for the tokenizers
        per_epoch = {
            "1 process (fit), batch 64": epoch_tokens_and_steps(settings, folder, args.global_batch, False),
            "2 workers, 32 each": epoch_tokens_and_steps(settings, folder, args.global_batch, True),
        }
    print(
        f"issue-14 model on {args.max_pairs} pairs, global batch {args.global_batch}, {args.rounds} alternating "
        f"rounds × {args.epochs - 1} timed epochs, os.cpu_count() = {os.cpu_count()}"
    )
    rates = {}
    for name, epoch_times in times.items():
        tokens, steps = per_epoch[name]
        epoch = statistics.median(epoch_times)
        rates[name] = tokens / epoch
        print(
            f"  {name:28s} median epoch {epoch:6.2f} s, {epoch / steps * 1e3:6.1f} ms/step ({steps} steps), "
            f"{tokens / epoch:8,.0f} target tokens/s"
        )
    one, two = rates.values()
    print(f"ratio two workers / one process (tokens/s): {two / one:.2f}")


if __name__ == "__main__":
    main()
