"""Forward + backward time of transformer_tf.MultiHeadAttention against
keras.layers.MultiHeadAttention, same sizes, measured side by side in one run.

Default size is the blog's: d_model 128, 8 heads, batch 64, sequence length 40, with a
padding mask (the way the translator calls it). Both layers run inside one
``tf.function`` training-style step (forward, loss, gradients of weights and inputs);
rounds alternate between the two so that machine noise hits both alike.

    python bench/attention.py [--rounds 30] [--steps 10]

Prints the median time per step of each and the ratio (ours / keras: < 1 means ours is faster).
"""

import argparse

import cli_common

cli_common.quiet_tensorflow()  # before TensorFlow loads; TF_CPP_MIN_LOG_LEVEL=0 shows its logs


def build_parser():
    """The command line; it needs no TensorFlow."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--num-heads", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--length", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=30, help="alternating measurement rounds")
    parser.add_argument("--steps", type=int, default=10, help="steps per round")
    parser.add_argument("--jit", action="store_true", help="compile both steps with XLA")
    return parser


if __name__ == "__main__":  # --help and a bad flag answer at once, before TensorFlow loads
    build_parser().parse_args()

cli_common.import_tensorflow_quietly()  # TensorFlow's start-up lines, muted (unless TF_CPP_MIN_LOG_LEVEL is set)

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from interleave import interleaved_times, print_ratio, training_step  # noqa: E402 (bench/interleave.py)

from transformer_tf import MultiHeadAttention, create_padding_mask  # noqa: E402


def make_steps(d_model, num_heads, batch, length, jit):
    ours = MultiHeadAttention(d_model, num_heads)
    theirs = keras.layers.MultiHeadAttention(num_heads, key_dim=d_model // num_heads)

    x = tf.random.normal((batch, length, d_model))
    # Realistic padding: sentence lengths spread between half and full length.
    lengths = tf.random.uniform((batch,), length // 2, length + 1, dtype=tf.int32)
    ids = tf.sequence_mask(lengths, length, dtype=tf.int32)  # 1 = token, 0 = pad
    our_mask = create_padding_mask(ids)  # (batch, 1, 1, length), 1 = masked
    keras_mask = tf.cast(ids, tf.bool)[:, None, :]  # (batch, 1, length), True = attend: the inverse

    ours(x, x, x, our_mask)
    theirs(x, x, attention_mask=keras_mask)

    ours_step = training_step(lambda x: ours(x, x, x, our_mask)[0], ours, jit)
    keras_step = training_step(lambda x: theirs(x, x, attention_mask=keras_mask), theirs, jit)

    return x, {"transformer_tf.MultiHeadAttention": ours_step, "keras.layers.MultiHeadAttention": keras_step}


def run_steps(step, x, n):
    for _ in range(n):
        grads = step(x)
    _ = [g.numpy() for g in grads[:1]]  # wait for the last step to finish


def main():
    args = build_parser().parse_args()

    x, steps = make_steps(args.d_model, args.num_heads, args.batch_size, args.length, args.jit)
    for step in steps.values():  # trace and warm up
        run_steps(step, x, 3)
    times = interleaved_times(
        {name: (lambda s=step: run_steps(s, x, args.steps)) for name, step in steps.items()}, args.rounds
    )
    times = {name: [t / args.steps for t in ts] for name, ts in times.items()}  # per step

    print_ratio(
        times,
        f"fwd+bwd, d_model {args.d_model}, {args.num_heads} heads, batch {args.batch_size}, length {args.length}, "
        f"padding mask, jit={args.jit}, {args.rounds}×{args.steps} steps each, interleaved",
    )


if __name__ == "__main__":
    main()
