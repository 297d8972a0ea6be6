"""Training throughput of the translator against a twin built on keras.layers.MultiHeadAttention.

Both models are the blog's size (4 layers, d_model 128, dff 512, 8 heads, vocabularies of
8,000) and differ only in their attention layers: the twin's are
``keras.layers.MultiHeadAttention`` behind an adapter that takes our arguments and our mask
convention (1 = masked; Keras wants True = attend). Both train with the same loss and
optimizer on the same batches (batch 64, sentence lengths drawn like the corpus's, 4–24
tokens), alternating rounds of steps in one run.

    python bench/train_throughput.py [--rounds 5] [--steps 10]

Prints target tokens (non-padding) per second for each and the ratio (ours / twin).

    python bench/train_throughput.py --precision

compares instead the default translator (joint vocabulary of 12,000, tied embeddings)
in float32 and under ``--mixed-precision`` (``mixed_bfloat16`` on a CPU), same batches;
``--precision --tutorial-loss`` adds both precisions with the loss and output layer as they
were before issue 24 (log-softmax + gather, a batched output matmul), to show what the
fused loss of :mod:`transformer_tf.fused_loss` and the 2-D output matmul changed;
``--precision --all-rows`` adds both precisions with the output layer and loss computed at
every position, padding included (``Transformer(skip_padding_rows=False)``, as before this
round). With ``--precision`` it also times the step's matmuls at the model's own shapes in
both dtypes (``bench/matmul_shapes.py``) and prints the most that mixed precision can give a
step whose other ops run no faster than in float32.

``--precision --size base`` runs the same comparison on the paper's Transformer base (6 layers,
d_model 512, dff 2048, 50 M parameters), whose matmuls are larger and weigh more in a step:
mixed precision pays more there than at the shipped size (d_model 128).

Both modes also print each model's achieved FLOP/s in a training step and its share of
the machine's matmul peak, measured in the same run (a 4096² ``tf.matmul`` in float32 and
bfloat16, before and after the model rounds). The step's FLOPs are counted analytically
(:func:`train_step_flops`: the matmuls on the padded shapes the step computes, backward
= 2 × forward), not by a profiler.
"""

import argparse
import dataclasses
import time

import cli_common

cli_common.quiet_tensorflow()  # before TensorFlow loads; TF_CPP_MIN_LOG_LEVEL=0 shows its logs


#: Architectures for ``--precision --size``: the default translator's, and the paper's "base" model
#: (Vaswani et al. 2017, Table 3), where the matmuls weigh more in a step (they grow with d_model², the
#: element-wise work with d_model).
SIZES = {
    "default": {},
    "base": {"num_layers": 6, "d_model": 512, "num_heads": 8, "dff": 2048},
}


def build_parser():
    """The command line; it needs no TensorFlow."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10, help="training steps per round")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--precision", action="store_true", help="float32 against mixed precision instead")
    parser.add_argument(
        "--size",
        choices=sorted(SIZES),
        default="default",
        help="with --precision: the translator's size (default: the shipped one; base: the paper's Transformer base)",
    )
    parser.add_argument(
        "--tutorial-loss",
        action="store_true",
        help="with --precision: also both precisions with the tutorial's loss and batched output matmul (the before)",
    )
    parser.add_argument(
        "--all-rows",
        action="store_true",
        help="with --precision: also both precisions with the output layer and loss at the padding rows too",
    )
    return parser


if __name__ == "__main__":  # --help and a bad flag answer at once, before TensorFlow loads
    build_parser().parse_args()

cli_common.import_tensorflow_quietly()  # TensorFlow's start-up lines, muted (unless TF_CPP_MIN_LOG_LEVEL is set)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from interleave import interleaved_times, medians  # noqa: E402 (bench/interleave.py)
from matmul_shapes import matmul_table, upper_bound  # noqa: E402 (bench/matmul_shapes.py)

import transformer_tf.layers  # noqa: E402
from transformer_tf import Transformer  # noqa: E402
from transformer_tf.attention import AttentionMaskConsumer  # noqa: E402
from transformer_tf.config import TrainConfig  # noqa: E402
from transformer_tf.hardware import cpu_has_bfloat16  # noqa: E402
from transformer_tf.losses import masked_accuracy  # noqa: E402
from transformer_tf.train import build_model  # noqa: E402


class KerasAttention(AttentionMaskConsumer):
    """keras.layers.MultiHeadAttention with transformer_tf.MultiHeadAttention's call signature."""

    def __init__(self, d_model, num_heads, **kwargs):
        super().__init__(**kwargs)
        self.mha = keras.layers.MultiHeadAttention(num_heads, key_dim=d_model // num_heads)

    def build(self, v_shape, k_shape=None, q_shape=None, mask_shape=None):
        self.mha.build(q_shape or v_shape, v_shape, k_shape or v_shape)
        self.built = True

    def call(self, v, k, q, mask=None):
        # ours: (batch, 1, 1 or seq_q, seq_k), 1 = masked → Keras: (batch, 1 or seq_q, seq_k), True = attend
        keras_mask = None if mask is None else tf.cast(1.0 - tf.squeeze(mask, 1), tf.bool)
        return self.mha(q, v, k, attention_mask=keras_mask, return_attention_scores=True)


def keras_twin(config, vocab):
    """build_model(), with every MultiHeadAttention built as KerasAttention."""
    original = transformer_tf.layers.MultiHeadAttention
    transformer_tf.layers.MultiHeadAttention = KerasAttention
    try:
        return build_model(config, vocab, vocab)
    finally:
        transformer_tf.layers.MultiHeadAttention = original


def tutorial_loss(label_smoothing):
    """The loss as the tutorial writes it (this project's before issue 24): log-softmax, gather."""

    def loss(y_true, logits):
        y_true = tf.cast(y_true, tf.int64)
        log_probs = tf.nn.log_softmax(tf.cast(logits, tf.float32))  # (batch, tar_len, vocab)
        nll = -tf.gather(log_probs, tf.maximum(y_true, 0), batch_dims=2)
        per_token = (1.0 - label_smoothing) * nll - label_smoothing * tf.reduce_mean(log_probs, axis=-1)
        mask = tf.cast(y_true != 0, tf.float32)
        return tf.reduce_sum(per_token * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)

    return loss


def with_tutorial_output_and_loss(model, config):
    """``model`` recompiled with :func:`tutorial_loss`, its tied output layer a batched matmul
    against the shared matrix (as before issue 24): the "before" of the fused path."""
    model.hparams["skip_padding_rows"] = False  # the tutorial loss takes (batch, tar_len, vocab) logits
    layer = model.final_layer

    def batched_call(x):
        logits = tf.matmul(x, tf.cast(layer.embedding.embeddings, x.dtype), transpose_b=True)
        return logits + tf.cast(layer.bias, x.dtype)

    layer.call = batched_call
    model.compile(optimizer=model.optimizer, loss=tutorial_loss(config.label_smoothing), metrics=[masked_accuracy])
    return model


def every_row(model):
    """``model`` with its output layer and loss computed at the padding positions too."""
    model.hparams["skip_padding_rows"] = False
    return model


def batches(n, batch, vocab, rng):
    """Random token batches padded like real ones: lengths 4–24, START … END."""
    out = []
    for _ in range(n):

        def side():
            lengths = rng.integers(4, 25, batch)
            ids = np.zeros((batch, lengths.max()), np.int64)
            for row, length in enumerate(lengths):
                ids[row, :length] = [2, *rng.integers(4, vocab, length - 2), 3]
            return ids

        inp, tar = side(), side()
        out.append(((tf.constant(inp), tf.constant(tar[:, :-1])), tf.constant(tar[:, 1:])))
    return out


def train_step_flops(config, vocab, batch, inp_len, tar_len, out_rows=None):
    """Floating-point operations of one training step of the Transformer on a padded batch.

    Counts matrix multiplications only (2·m·n·k each; softmax, layer norm, dropout and the
    optimizer are a few per cent on top and left out). Per sequence, with source length
    S, decoder length T, width d, feed-forward width f, L layers and vocabulary V:

        encoder layer: 8·S·d² (Q, K, V, O projections) + 4·S²·d (QKᵀ and weights·V) + 4·S·d·f
        decoder layer: 8·T·d² + 4·T²·d (self-attention) + 4·T·d² + 4·S·d² + 4·T·S·d (cross)
                       + 4·T·d·f
        output layer:  2·T·d·V  (over ``out_rows`` rows of the batch, default batch · T)

    and the backward pass costs twice the forward (a gradient for each matmul input):
    step = 3 · batch · forward.
    """
    S, T, d, f, L = inp_len, tar_len, config.d_model, config.dff, config.num_layers
    encoder = 8 * S * d * d + 4 * S * S * d + 4 * S * d * f
    decoder = 8 * T * d * d + 4 * T * T * d + 4 * T * d * d + 4 * S * d * d + 4 * T * S * d + 4 * T * d * f
    out_rows = batch * T if out_rows is None else out_rows
    return 3 * (batch * L * (encoder + decoder) + out_rows * 2 * d * vocab)


def matmul_peak(dtype, n=4096, repeats=5):
    """Best FLOP/s of an ``n × n`` by ``n × n`` ``tf.matmul`` in ``dtype`` (2·n³ per product)."""
    a = tf.random.uniform((n, n), dtype=tf.float32)
    a, b = tf.cast(a, dtype), tf.cast(tf.transpose(a), dtype)
    product = tf.function(lambda: tf.reduce_sum(tf.cast(tf.matmul(a, b)[0, :1], tf.float32)))
    product()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        product().numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def main():
    args = build_parser().parse_args()

    keras.utils.set_random_seed(0)
    if args.precision:
        config = dataclasses.replace(TrainConfig(), **SIZES[args.size])
        vocab = config.vocab_size
        mixed = dataclasses.replace(config, mixed_precision=True)
        models = {"float32": build_model(config, vocab, vocab), "mixed precision": build_model(mixed, vocab, vocab)}
        if args.tutorial_loss:
            models["float32, tutorial loss"] = with_tutorial_output_and_loss(build_model(config, vocab, vocab), config)
            models["mixed, tutorial loss"] = with_tutorial_output_and_loss(build_model(mixed, vocab, vocab), config)
        if args.all_rows:
            models["float32, all rows"] = every_row(build_model(config, vocab, vocab))
            models["mixed, all rows"] = every_row(build_model(mixed, vocab, vocab))
    else:
        config, vocab = TrainConfig(share_embeddings=False), 8000
        models = {
            "transformer_tf": build_model(config, vocab, vocab),
            "keras MHA twin": keras_twin(config, vocab),
        }
    assert all(isinstance(m, Transformer) for m in models.values())
    sizes = {name: m.count_params() for name, m in models.items()}
    data = batches(args.steps, args.batch_size, vocab, np.random.default_rng(0))
    tokens = sum(int(tf.math.count_nonzero(y)) for _, y in data)

    peaks = {"float32": [matmul_peak(tf.float32)], "bfloat16": [matmul_peak(tf.bfloat16)]}
    for model in models.values():  # trace and warm up
        for x, y in data[:3]:
            model.train_on_batch(x, y)

    def train_round(model):
        for x, y in data:
            model.train_on_batch(x, y)

    times = interleaved_times({name: (lambda m=model: train_round(m)) for name, model in models.items()}, args.rounds)
    for dtype, runs in peaks.items():
        runs.append(matmul_peak(getattr(tf, dtype)))

    print(
        f"training, {args.size + ' size' if args.precision else 'blog-size model'} (layers {config.num_layers}, "
        f"d_model {config.d_model}, dff {config.dff}), batch {args.batch_size}, {args.rounds} interleaved rounds × "
        f"{args.steps} steps; parameters: {sizes}"
    )
    rates = {name: tokens / seconds for name, seconds in medians(times).items()}
    for name, rate in rates.items():
        print(f"  {name:22s} median {rate:8,.0f} target tokens/s")
    if args.precision:  # the speed-up of mixed precision
        print(f"ratio mixed precision / float32: {rates['mixed precision'] / rates['float32']:.2f}×")
        if args.tutorial_loss:
            print(
                f"ratio mixed precision / float32 with the tutorial loss: "
                f"{rates['mixed, tutorial loss'] / rates['float32, tutorial loss']:.2f}×; fused / tutorial loss: "
                f"float32 {rates['float32'] / rates['float32, tutorial loss']:.2f}×, "
                f"mixed {rates['mixed precision'] / rates['mixed, tutorial loss']:.2f}×"
            )
    else:
        ours, twin = rates.values()
        print(f"ratio {' / '.join(rates)}: {ours / twin:.2f}×")

    report_flops(config, vocab, data, models, times, peaks)
    if args.precision:
        report_bound(data, config, medians(times)["float32"] / len(data), medians(times)["mixed precision"] / len(data))


def output_rows(model, tar_in):
    """Rows the output layer computes for the decoder input ``tar_in``: the real ones, or all."""
    return int(tf.math.count_nonzero(tar_in)) if model.hparams["skip_padding_rows"] else int(tf.size(tar_in))


def report_flops(config, vocab, data, models, times, peaks):
    """Each model's matmul FLOP/s in a step (analytical, on the shapes it computes) and its share
    of the 4096² matmul peak of each dtype."""
    peak = {dtype: max(runs) for dtype, runs in peaks.items()}
    print(
        "matmul peak (4096², best of before/after the rounds): "
        + ", ".join(f"{dtype} {p / 1e9:,.0f} GFLOP/s" for dtype, p in peak.items())
    )
    if not cpu_has_bfloat16() and not tf.config.list_physical_devices("GPU"):
        print("no bfloat16 units in this CPU (avx512_bf16, amx_bf16): bfloat16 is emulated; mixed precision cannot pay")
    for name, seconds in medians(times).items():
        model = models[name]
        flops = sum(
            train_step_flops(config, vocab, *x[0].shape, x[1].shape[1], output_rows(model, x[1])) for x, _ in data
        )
        achieved = flops / seconds
        print(
            f"  {name:22s} {flops / len(data) / 1e9:5.2f} GFLOP a step, {achieved / 1e9:6.1f} GFLOP/s = "
            f"{achieved / peak['float32']:.0%} of the float32 peak, "
            f"{achieved / peak['bfloat16']:.0%} of the bfloat16 peak"
        )


def report_bound(data, config, step32, step_mixed):
    """The step's matmuls timed at its shapes in both dtypes, and the most mixed precision can give."""
    batch = data[0][0][0].shape[0]
    inp_len = round(np.mean([x[0].shape[1] for x, _ in data]))
    tar_len = round(np.mean([x[1].shape[1] for x, _ in data]))
    rows = round(np.mean([int(tf.math.count_nonzero(x[1])) for x, _ in data]))
    size = {k: getattr(config, k) for k in ("d_model", "dff", "num_heads", "num_layers", "vocab_size")}
    size["vocab"] = size.pop("vocab_size")
    matmuls32, matmuls16 = matmul_table(batch, inp_len, tar_len, out_rows=rows, **size)
    bound = upper_bound(step32, matmuls32, matmuls16)
    print(
        f"float32 step {step32 * 1e3:.0f} ms, of which matmuls {matmuls32 * 1e3:.0f} ms ({matmuls32 / step32:.0%}); "
        f"mixed step {step_mixed * 1e3:.0f} ms; with every matmul in bfloat16 and nothing else faster, "
        f"mixed / float32 ≤ {bound:.2f}× (measured {step32 / step_mixed:.2f}×)"
    )


if __name__ == "__main__":
    main()
