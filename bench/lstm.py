"""Forward + backward time of lstm_tf.SpaceOdysseyLSTM against keras.layers.LSTM of the same
size, measured side by side in one run.

Default size: batch 32 × 100 steps × 64 features, 256 units (the size of the project's
notes). Both layers run inside one ``tf.function`` training-style step (forward, loss,
gradients of the weights and of the input), as ``model.fit`` runs them on a CPU machine,
where Keras leaves XLA off. Rounds alternate between the two, so machine noise hits both.

    python bench/lstm.py [--variant vanilla] [--rounds 20] [--steps 5] [--jit]

``--jit`` compiles *both* whole steps with XLA (what ``model.compile(jit_compile=True)``
does), to compare against keras LSTM at its best too. Prints the median time per step of
each and the ratio (ours / keras: < 1 means ours is faster).
"""

import argparse

import cli_common

cli_common.quiet_tensorflow()  # before TensorFlow loads; TF_CPP_MIN_LOG_LEVEL=0 shows its logs


def build_parser():
    """The command line; it needs no TensorFlow."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", default="vanilla")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--time", type=int, default=100)
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=20, help="alternating measurement rounds")
    parser.add_argument("--steps", type=int, default=5, help="steps per round")
    parser.add_argument("--jit", action="store_true", help="compile both whole steps with XLA")
    return parser


if __name__ == "__main__":  # --help and a bad flag answer at once, before TensorFlow loads
    build_parser().parse_args()

cli_common.import_tensorflow_quietly()  # TensorFlow's start-up lines, muted (unless TF_CPP_MIN_LOG_LEVEL is set)

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from interleave import interleaved_times, print_ratio, training_step  # noqa: E402 (bench/interleave.py)

from lstm_tf import SpaceOdysseyLSTM  # noqa: E402


def run_steps(step, x, n):
    for _ in range(n):
        grads = step(x)
    _ = grads[0].numpy()  # wait for the last step to finish


def main():
    args = build_parser().parse_args()

    x = tf.random.normal((args.batch_size, args.time, args.features))
    layers = {
        f"lstm_tf.SpaceOdysseyLSTM ({args.variant})": SpaceOdysseyLSTM(args.units, variant=args.variant),
        "keras.layers.LSTM": keras.layers.LSTM(args.units),
    }
    steps = {}
    for name, layer in layers.items():
        layer(x)
        steps[name] = training_step(layer, layer, args.jit)
        run_steps(steps[name], x, 3)  # trace, compile, warm up
    times = interleaved_times(
        {name: (lambda s=step: run_steps(s, x, args.steps)) for name, step in steps.items()}, args.rounds
    )
    times = {name: [t / args.steps for t in ts] for name, ts in times.items()}
    print_ratio(
        times,
        f"fwd+bwd, batch {args.batch_size} × {args.time} steps × {args.features} features, "
        f"{args.units} units, jit={args.jit}, {args.rounds}×{args.steps} steps each, interleaved",
    )


if __name__ == "__main__":
    main()
