"""Where a training step of the default translator spends its time, float32 against mixed precision.

Profiles a few training steps of the default Transformer (4 layers, d_model 128, joint
vocabulary of 12,000, tied embeddings, label smoothing 0.1; the same random batches as
``bench/train_throughput.py``) with TensorBoard's profiler, ``tf.profiler.experimental``,
once in float32 and once under ``--mixed-precision`` (``mixed_bfloat16`` on a CPU), and
prints the top TensorFlow ops of each by their share of the op time, and the time per
part of the model (output layer and loss, attention, feed-forward, layer norm, …).

    python bench/profile_train_step.py [--steps 6] [--top 15] [--logdir runs/profile]

The traces stay in ``--logdir`` (one run per precision) for TensorBoard's Profile tab
(``tensorboard --logdir runs/profile`` with the ``tensorboard-plugin-profile`` package).
Shares, not seconds, are the result: on a shared machine absolute times drift.
"""

import argparse
import collections
import dataclasses
from pathlib import Path

import cli_common

cli_common.quiet_tensorflow()  # before TensorFlow loads; TF_CPP_MIN_LOG_LEVEL=0 shows its logs


def build_parser():
    """The command line; it needs no TensorFlow."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=6, help="traced training steps per precision")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--logdir", default="runs/profile")
    return parser


if __name__ == "__main__":  # --help and a bad flag answer at once, before TensorFlow loads
    build_parser().parse_args()

cli_common.import_tensorflow_quietly()  # TensorFlow's start-up lines, muted (unless TF_CPP_MIN_LOG_LEVEL is set)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.tsl.profiler.protobuf import xplane_pb2  # noqa: E402
from train_throughput import batches  # noqa: E402 (bench/train_throughput.py)

from transformer_tf.config import TrainConfig  # noqa: E402
from transformer_tf.train import build_model  # noqa: E402

# Parts of the step, by the first pattern found in an op's name scope (checked in order).
PARTS = (
    ("output layer + loss", ("final_layer", "masked_loss", "ArgMax", "masked_accuracy", "boolean_mask")),
    ("layer norm", ("layer_normalization",)),
    ("dropout", ("dropout",)),
    ("attention", ("mha",)),
    ("feed-forward", ("sequential",)),
    ("embedding", ("embedding",)),
    ("optimizer", ("adam", "Adam", "AssignVariable", "AssignSub", "AssignAdd")),
)


def part_of(op_name):
    """The :data:`PARTS` entry an op (``scope/…/name:Type``) belongs to, or ``"other"``."""
    for part, patterns in PARTS:
        if any(p in op_name for p in patterns):
            return part
    return "other"


def op_times(logdir):
    """``{op name: seconds}`` summed over the TensorFlow executor threads of the newest trace.

    Op events (``name:Type``) sit inside the executor's ``ExecutorState::Process`` events,
    which are left out so that no time counts twice.
    """
    trace = max(Path(logdir).glob("**/*.xplane.pb"), key=lambda p: p.stat().st_mtime)
    space = xplane_pb2.XSpace()
    space.ParseFromString(trace.read_bytes())
    times = collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if ":" in name and not name.startswith("ExecutorState"):
                    times[name] += event.duration_ps * 1e-12
    return times


def profile(model, data, logdir):
    """Trace ``len(data)`` training steps of ``model`` (after three warm-up steps); returns
    :func:`op_times` and the wall seconds of the traced steps."""
    for x, y in data[:3]:
        model.train_on_batch(x, y)
    tf.profiler.experimental.start(str(logdir))
    try:
        watch = tf.timestamp()
        for x, y in data:
            model.train_on_batch(x, y)
        wall = float(tf.timestamp() - watch)
    finally:
        tf.profiler.experimental.stop()
    return op_times(logdir), wall


def report(name, times, wall, steps, top):
    total = sum(times.values())
    print(f"\n{name}: {wall / steps * 1e3:.0f} ms a step (traced), op time {total / steps * 1e3:.0f} ms a step")
    by_type = collections.Counter()
    by_part = collections.Counter()
    for op, seconds in times.items():
        by_type[op.rsplit(":", 1)[1]] += seconds
        by_part[part_of(op)] += seconds
    print("  by part:   " + ", ".join(f"{p} {s / total:.0%}" for p, s in by_part.most_common()))
    print("  by op type: " + ", ".join(f"{t} {s / total:.0%}" for t, s in by_type.most_common(8)))
    print(f"  top {top} ops:")
    for op, seconds in times.most_common(top):
        print(f"    {seconds / total:5.1%}  {op[:120]}")


def main():
    args = build_parser().parse_args()

    keras.utils.set_random_seed(0)
    config = TrainConfig()
    data = batches(args.steps, args.batch_size, config.vocab_size, np.random.default_rng(0))
    for name, mixed in (("float32", False), ("mixed precision", True)):
        model = build_model(dataclasses.replace(config, mixed_precision=mixed), config.vocab_size, config.vocab_size)
        times, wall = profile(model, data, Path(args.logdir) / name.replace(" ", "_"))
        report(name, times, wall, args.steps, args.top)


if __name__ == "__main__":
    main()
