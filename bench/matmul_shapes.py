"""The training step's matrix products at the model's own shapes, float32 against bfloat16.

A 4096² ``tf.matmul`` says what the bfloat16 units can do at their best; the Transformer's
products are small (d_model 128) and thin, so the ratio that a step can get from bfloat16 is
the one measured at *its* shapes. :func:`step_matmuls` lists the products of one training
step of the default Transformer on a padded batch (batch × source length S × target length T);
:func:`site_times` times each one forward and backward (the two gradient products), in
float32 and in bfloat16, and :func:`upper_bound` turns them into the most that mixed
precision can give a step whose non-matmul ops run no faster than in float32 (Amdahl):

    bound = step₃₂ / (step₃₂ − matmuls₃₂ + matmuls₁₆)

    python bench/matmul_shapes.py [--batch-size 64] [--inp-len 24] [--tar-len 24]

prints the table alone; ``bench/train_throughput.py --precision`` prints it with the bound
for the step times it measured in the same run.
"""

import argparse
import time

import cli_common

cli_common.quiet_tensorflow()  # before TensorFlow loads; TF_CPP_MIN_LOG_LEVEL=0 shows its logs


INNER = 8  # products per timed call (see site_step)


def build_parser():
    """The command line; it needs no TensorFlow."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--inp-len", type=int, default=24, help="padded source length")
    parser.add_argument("--tar-len", type=int, default=24, help="padded decoder length")
    parser.add_argument("--out-rows", type=int, help="rows of the output layer (default batch × target length)")
    parser.add_argument("--repeats", type=int, default=20)
    return parser


def step_matmuls(batch, inp_len, tar_len, d_model=128, dff=512, num_heads=8, num_layers=4, vocab=12000, out_rows=None):
    """``[(name, count, a_shape, b_shape)]``: the matrix products of one forward pass (the
    backward pass computes two more per product, timed with it by :func:`site_times`).
    ``out_rows``: the rows of the output layer (default every position, ``batch · tar_len``).

    Dense layers are ``(rows, d_in) · (d_in, d_out)``; attention is batched over
    ``batch · num_heads``: ``QKᵀ`` is ``(T, depth) · (depth, S)`` and ``weights · V`` is
    ``(T, S) · (S, depth)``.
    """
    S, T, d, f, L = batch * inp_len, batch * tar_len, d_model, dff, num_layers
    depth, bh = d_model // num_heads, batch * num_heads
    return [
        ("dense d→d, source rows", L * 4 + L * 2, (S, d), (d, d)),  # encoder Q K V O, cross-attention K V
        ("dense d→d, target rows", L * 6, (T, d), (d, d)),  # self-attention Q K V O, cross-attention Q O
        ("ffn d→dff, source rows", L, (S, d), (d, f)),
        ("ffn dff→d, source rows", L, (S, f), (f, d)),
        ("ffn d→dff, target rows", L, (T, d), (d, f)),
        ("ffn dff→d, target rows", L, (T, f), (f, d)),
        ("QKᵀ, encoder", L, (bh, inp_len, depth), (bh, depth, inp_len)),
        ("weights·V, encoder", L, (bh, inp_len, inp_len), (bh, inp_len, depth)),
        ("QKᵀ, decoder (self + cross)", 2 * L, (bh, tar_len, depth), (bh, depth, max(inp_len, tar_len))),
        ("weights·V, decoder", 2 * L, (bh, tar_len, max(inp_len, tar_len)), (bh, max(inp_len, tar_len), depth)),
        ("output layer d→vocab", 1, (out_rows or T, d), (d, vocab)),
    ]


def site_step(a_shape, b_shape, dtype, inner=INNER):
    """A ``tf.function`` of ``inner`` products ``a · b`` in ``dtype``, each forward and both
    gradients (``inner`` of them in one call, so that the call's own cost, about half a
    millisecond, does not count as matmul time: the step runs its products inside one graph)."""
    import tensorflow as tf

    a = tf.cast(tf.random.normal(a_shape), dtype)
    b = tf.cast(tf.random.normal(b_shape) * 0.1, dtype)

    @tf.function
    def fwd_bwd():
        corners = []
        for i in range(inner):
            a_i = a + tf.cast(i, dtype)  # a distinct input each time, so no product is shared
            with tf.GradientTape() as tape:
                tape.watch([a_i, b])
                c = tf.matmul(a_i, b)
            da, db = tape.gradient(c, [a_i, b], output_gradients=c)
            corners += [da[..., :1, :1], db[..., :1, :1]]  # a tiny fetch: no copy-out counts
        return corners

    fwd_bwd()  # trace, and let oneDNN build its kernels
    return fwd_bwd


def site_times(sites, repeats=20):
    """``{dtype name: {site name: seconds}}``: the best time of each site's product (forward and
    backward) in float32 and in bfloat16, the two dtypes alternating run by run (a busy moment
    hits both)."""
    import tensorflow as tf

    times = {"float32": {}, "bfloat16": {}}
    for name, _, a_shape, b_shape in sites:
        steps = {dtype: site_step(a_shape, b_shape, getattr(tf, dtype)) for dtype in times}
        best = dict.fromkeys(times, float("inf"))
        for _ in range(repeats):
            for dtype, step in steps.items():
                start = time.perf_counter()
                [t.numpy() for t in step()]
                best[dtype] = min(best[dtype], (time.perf_counter() - start) / INNER)
        for dtype in times:
            times[dtype][name] = best[dtype]
    return times


def matmul_table(batch, inp_len, tar_len, repeats=20, out_rows=None, **size):
    """Print every site's float32 and bfloat16 time and ratio; return the step's total
    matmul seconds ``(float32, bfloat16)`` (each site's time × its count). ``size``: the
    architecture's fields of :func:`step_matmuls` (default: the blog's)."""
    sites = step_matmuls(batch, inp_len, tar_len, out_rows=out_rows, **size)
    times = site_times(sites, repeats)
    t32, t16 = times["float32"], times["bfloat16"]
    print(f"the step's matmuls at its shapes (batch {batch}, source {inp_len}, target {tar_len}; forward + backward):")
    for name, count, a_shape, b_shape in sites:
        print(
            f"  {name:30s} ×{count:2d} {str(a_shape):>16s}·{str(b_shape):16s} "
            f"float32 {t32[name] * 1e3:6.2f} ms, bfloat16 {t16[name] * 1e3:6.2f} ms, {t32[name] / t16[name]:4.2f}×"
        )
    total32 = sum(count * t32[name] for name, count, _, _ in sites)
    total16 = sum(count * t16[name] for name, count, _, _ in sites)
    print(
        f"  all of a step's matmuls: float32 {total32 * 1e3:.0f} ms, bfloat16 {total16 * 1e3:.0f} ms, "
        f"{total32 / total16:.2f}×"
    )
    return total32, total16


def upper_bound(step32, matmuls32, matmuls16):
    """The most that mixed precision can speed up a float32 step of ``step32`` seconds whose
    matmuls take ``matmuls32`` (``matmuls16`` in bfloat16), if nothing else gets faster."""
    return step32 / (step32 - matmuls32 + matmuls16)


def main():
    args = build_parser().parse_args()
    cli_common.import_tensorflow_quietly()
    matmul_table(args.batch_size, args.inp_len, args.tar_len, args.repeats, args.out_rows)


if __name__ == "__main__":
    main()
