"""Layer norm under mixed precision: does a bfloat16 input make it cheaper?

Keras' ``LayerNormalization`` under ``mixed_bfloat16`` casts its bfloat16 input to float32,
computes the statistics and the affine map there, and casts back; the profile of a training
step (``bench/profile_train_step.py``) shows those casts. This times, forward and backward
at the default model's shape (batch 64 × 22 positions × 128), alternating run by run:

- ``keras``: that computation (statistics in float32), on a float32 and on a bfloat16 input;
- ``fused``: the normalisation as one ``FusedBatchNormV3`` op (Keras 2's layer norm: rows as
  channels of a ``(1, rows, d_model, 1)`` NCHW tensor; a bfloat16 input keeps float32
  statistics inside the op, no cast), then the bfloat16 scale and shift;

and prints each one's largest difference from the float32 computation.

    python bench/layer_norm_precision.py [--rounds 15]
"""

import argparse
import statistics
import time

import cli_common

cli_common.quiet_tensorflow()  # before TensorFlow loads; TF_CPP_MIN_LOG_LEVEL=0 shows its logs


def build_parser():
    """The command line; it needs no TensorFlow."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=64 * 22)
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=15)
    return parser


def keras_form(x, gamma, beta, epsilon=1e-6):
    """Keras 3's layer norm: statistics and affine map in float32, the result in ``x``'s dtype."""
    import tensorflow as tf

    x32 = tf.cast(x, tf.float32)
    mean, variance = tf.nn.moments(x32, axes=[-1], keepdims=True)
    inv = tf.math.rsqrt(variance + epsilon) * gamma
    return tf.cast(x32 * inv + (beta - mean * inv), x.dtype)


def fused_form(x, gamma, beta, epsilon=1e-6):
    """The normalisation as one ``FusedBatchNormV3`` (float32 statistics inside), then the affine
    map in ``x``'s dtype."""
    import tensorflow as tf

    rows, d = tf.shape(x)[0], x.shape[-1]
    ones, zeros = tf.ones([rows]), tf.zeros([rows])
    y, _, _ = tf.compat.v1.nn.fused_batch_norm(
        tf.reshape(x, (1, rows, d, 1)), ones, zeros, epsilon=epsilon, data_format="NCHW"
    )
    return tf.reshape(y, tf.shape(x)) * tf.cast(gamma, x.dtype) + tf.cast(beta, x.dtype)


def forward_backward(form, x, dy, gamma, beta):
    """``[y, dx, dgamma, dbeta]`` of ``form``."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch([x, gamma, beta])
        y = form(x, gamma, beta)
    return [y, *tape.gradient(y, [x, gamma, beta], output_gradients=dy)]


def main():
    args = build_parser().parse_args()
    cli_common.import_tensorflow_quietly()
    import tensorflow as tf

    tf.random.set_seed(0)
    x = tf.random.normal((args.rows, args.d_model)) * 3 + 1
    dy = tf.random.normal((args.rows, args.d_model))
    gamma, beta = tf.random.normal((args.d_model,)) * 0.1 + 1, tf.random.normal((args.d_model,)) * 0.1
    reference = forward_backward(keras_form, x, dy, gamma, beta)
    variants = {}
    for name, form in (("keras", keras_form), ("fused", fused_form)):
        for dtype in (tf.float32, tf.bfloat16):
            step = tf.function(lambda x, dy, form=form: [t[:1] for t in forward_backward(form, x, dy, gamma, beta)])
            inputs = (tf.cast(x, dtype), tf.cast(dy, dtype))
            step(*inputs)  # trace
            variants[f"{name}, {dtype.name} input"] = (step, inputs, form)
    times = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, (step, inputs, _) in variants.items():
            start = time.perf_counter()
            for _ in range(10):
                [t.numpy() for t in step(*inputs)]
            times[name].append((time.perf_counter() - start) / 10)
    base = statistics.median(times["keras, float32 input"])
    print(f"layer norm forward + backward, ({args.rows}, {args.d_model}), {args.rounds} interleaved rounds × 10:")
    for name, (_, inputs, form) in variants.items():
        out = forward_backward(form, *inputs, gamma, beta)
        error = max(float(tf.reduce_max(tf.abs(tf.cast(a, tf.float32) - b))) for a, b in zip(out[:2], reference[:2]))
        median = statistics.median(times[name])
        print(
            f"  {name:24s} median {median * 1e3:6.2f} ms ({median / base:4.2f}× keras float32), "
            f"largest |difference| from float32 in y and dx: {error:.3f}"
        )


if __name__ == "__main__":
    main()
