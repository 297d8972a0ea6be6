"""Translation speed of the RNN encoder–decoder (Bahdanau attention) against the Transformer's,
side by side in one run: same batch, same source length, same number of output tokens.

Both models are the sizes ``transformer-tf train`` builds by default, at about the same
parameter count: the Transformer (4 layers, d_model 128, dff 512, 8 heads) and the RNN
(``--model rnn``: bidirectional encoder and decoder of 320 units, embeddings of 128), both
over one joint vocabulary of 12,000 with tied embeddings. Both decode incrementally
(:func:`transformer_tf.decoding.greedy_decode` / ``beam_search_decode``, one ``tf.function``
each): the Transformer carries its key/value caches, the RNN its recurrent state. Greedy
decoding ignores END, so that every model does the same number of steps (beam search stops
only once every beam has ended, which random weights make unlikely). The weights are random:
speed does not depend on them. Rounds alternate between the models (``bench/interleave.py``).

    python bench/decode_rnn.py [--batch 64] [--output-length 40] [--beam 1] [--cells lstm,gru,space_odyssey]
"""

import argparse
import dataclasses

import cli_common

cli_common.quiet_tensorflow()  # before TensorFlow loads; TF_CPP_MIN_LOG_LEVEL=0 shows its logs


def build_parser():
    """The command line; it needs no TensorFlow."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--source-length", type=int, default=20)
    parser.add_argument("--output-length", type=int, default=40)
    parser.add_argument("--beam", type=int, default=1, help="beam size (1: greedy)")
    parser.add_argument("--cells", default="lstm,gru,space_odyssey", help="the RNN's recurrent units to time")
    parser.add_argument("--rounds", type=int, default=5)
    return parser


if __name__ == "__main__":  # --help and a bad flag answer at once, before TensorFlow loads
    build_parser().parse_args()

cli_common.import_tensorflow_quietly()  # TensorFlow's start-up lines, muted (unless TF_CPP_MIN_LOG_LEVEL is set)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from interleave import interleaved_times, medians  # noqa: E402 (bench/interleave.py)

from transformer_tf.config import TrainConfig  # noqa: E402
from transformer_tf.decoding import beam_search_decode, greedy_decode  # noqa: E402
from transformer_tf.factory import model_from_config  # noqa: E402

VOCAB = 12000  # the default joint vocabulary


def build(config):
    model = model_from_config(config, VOCAB, VOCAB)
    model.build(((None, None), (None, None)))
    return model


def main():
    args = build_parser().parse_args()

    tf.keras.utils.set_random_seed(0)
    models = {"transformer": build(TrainConfig())}
    for cell in args.cells.split(","):
        models[f"rnn ({cell})"] = build(dataclasses.replace(TrainConfig(), model="rnn", rnn_cell=cell))
    inp = tf.constant(np.random.default_rng(0).integers(4, VOCAB, (args.batch, args.source_length)), tf.int64)
    spec = [tf.TensorSpec((None, None), tf.int64)]

    def decoder(model):
        if args.beam == 1:
            return tf.function(lambda x: greedy_decode(model, x, args.output_length, False), input_signature=spec)
        return tf.function(lambda x: beam_search_decode(model, x, args.output_length, args.beam), input_signature=spec)

    decoders = {name: decoder(model) for name, model in models.items()}
    for fn in decoders.values():
        fn(inp).numpy()  # trace + warm up
    times = interleaved_times({name: (lambda f=fn: f(inp).numpy()) for name, fn in decoders.items()}, args.rounds)

    decoding = "greedy" if args.beam == 1 else f"beam {args.beam}"
    print(
        f"{decoding} decoding, batch {args.batch}, source {args.source_length} tokens, {args.output_length} "
        f"output tokens{' (END ignored)' if args.beam == 1 else ''}, {args.rounds} interleaved rounds, random weights"
    )
    meds = medians(times)
    reference = meds["transformer"]
    print(f"  {'model':22s} {'parameters':>11s} {'median':>10s} {'sentences/s':>12s} {'speed vs transformer':>21s}")
    for name, med in meds.items():
        print(
            f"  {name:22s} {models[name].count_params():11,d} {med * 1e3:8.1f} ms {args.batch / med:12,.1f} "
            f"{reference / med:20.2f}×"
        )


if __name__ == "__main__":
    main()
