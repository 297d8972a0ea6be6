"""Incremental (cached keys/values) greedy decoding against full recompute, side by side.

Blog-size model (4 layers, d_model 128, dff 512, 8 heads, vocabularies of 8,000), a
batch of source sentences of 20 tokens, **40 output tokens** each (END is ignored so both
decoders do the same number of steps). Both run as one ``tf.function``; rounds alternate.
The weights are random: speed does not depend on them, and the tokens are checked equal.

    python bench/decode.py [--batch-size 64] [--rounds 5]
"""

import argparse

import cli_common

cli_common.quiet_tensorflow()  # before TensorFlow loads; TF_CPP_MIN_LOG_LEVEL=0 shows its logs


def build_parser():
    """The command line; it needs no TensorFlow."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--source-length", type=int, default=20)
    parser.add_argument("--output-length", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    return parser


if __name__ == "__main__":  # --help and a bad flag answer at once, before TensorFlow loads
    build_parser().parse_args()

cli_common.import_tensorflow_quietly()  # TensorFlow's start-up lines, muted (unless TF_CPP_MIN_LOG_LEVEL is set)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from interleave import interleaved_times, medians  # noqa: E402 (bench/interleave.py)

from transformer_tf import Transformer  # noqa: E402
from transformer_tf.decoding import greedy_decode, greedy_decode_full  # noqa: E402


def main():
    args = build_parser().parse_args()

    tf.keras.utils.set_random_seed(0)
    model = Transformer(4, 128, 8, 512, 8000, 8000, pe_input=64, pe_target=args.output_length, rate=0.1)
    model.build(((None, None), (None, None)))
    inp = tf.constant(np.random.default_rng(0).integers(4, 8000, (args.batch_size, args.source_length)), tf.int64)
    spec = [tf.TensorSpec((None, None), tf.int64)]
    decoders = {
        "cached (incremental)": tf.function(
            lambda x: greedy_decode(model, x, args.output_length, False), input_signature=spec
        ),
        "full recompute": tf.function(
            lambda x: greedy_decode_full(model, x, args.output_length, False), input_signature=spec
        ),
    }
    outputs = {name: fn(inp).numpy() for name, fn in decoders.items()}  # trace + warm up
    same = np.array_equal(*outputs.values())
    times = interleaved_times({name: (lambda f=fn: f(inp).numpy()) for name, fn in decoders.items()}, args.rounds)

    print(
        f"greedy decoding, batch {args.batch_size}, source {args.source_length} tokens, "
        f"{args.output_length} output tokens, {args.rounds} interleaved rounds; identical tokens: {same}"
    )
    for name, med in medians(times).items():
        print(f"  {name:22s} median {med * 1e3:8.1f} ms  ({args.batch_size * args.output_length / med:,.0f} tokens/s)")
    cached, full = medians(times).values()
    print(f"speed-up of cached decoding: {full / cached:.2f}×")


if __name__ == "__main__":
    main()
