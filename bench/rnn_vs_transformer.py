"""Issue 15's comparison: the RNN encoder–decoder with Bahdanau attention against the
Transformer, trained on the same data, measured side by side on the same held-out split.

For each ``--checkpoint-dir`` (with the ``--log-dir`` its ``transformer-tf train`` wrote):
parameters, epochs (the folder's config: epochs a run trained after its release are left
out), training time to the number of epochs both reached (from the TensorBoard event times,
which count whatever else shared the machine, and at the train-step time measured here side
by side: fresh copies of both models, mixed precision as each was trained, taking turns on
the same real training batches), validation loss by epoch, greedy and beam-search BLEU/chrF on the
held-out test split (sacreBLEU, ``transformer_tf.evaluate``), and translation speed
(sentences/s of greedy decoding, batched, after a warm-up, the models taking turns round by
round: ``bench/interleave.py``). Writes to ``--out``: ``comparison.md`` (the table, also
printed), ``val_loss.png`` (both curves on one plot) and the attention of the same sentence
from each model (``attention_<folder>.png``: the Transformer's last-layer encoder-decoder
heads, the RNN's single target × source heatmap). The folders must share the held-out split
(same corpus subset, fractions and seed); otherwise it stops and says so.

    python bench/rnn_vs_transformer.py \\
        --checkpoint-dir checkpoints/en_es --log-dir runs/en_es \\
        --checkpoint-dir checkpoints/en_es_rnn --log-dir runs/en_es_rnn \\
        --data ../shared/data/spa-eng/spa.txt [--limit N] [--beam 4] [--out runs/comparison]

A training time counts the event files' spans from a run's start to its last epoch end within
the common number of epochs; a run killed mid-epoch and resumed loses the killed part.
"""

import argparse
import dataclasses
import sys
from pathlib import Path

import cli_common

cli_common.quiet_tensorflow()  # before TensorFlow loads; TF_CPP_MIN_LOG_LEVEL=0 shows its logs

SENTENCE = "He admired her as a great director."


def build_parser():
    """The command line; it needs no TensorFlow."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint-dir", action="append", required=True, help="repeat: one per model")
    parser.add_argument("--log-dir", action="append", required=True, help="repeat: the TensorBoard logs of each")
    parser.add_argument("--data", help="spa.txt, if not where the models were trained from")
    parser.add_argument("--limit", type=int, help="score only the first N test pairs")
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--speed-rounds", type=int, default=3)
    parser.add_argument("--step-batches", type=int, default=20, help="training batches per timing round")
    parser.add_argument("--sentence", default=SENTENCE, help="the sentence whose attention is drawn")
    parser.add_argument("--out", default="runs/comparison")
    return parser


if __name__ == "__main__":  # --help and a bad flag answer at once, before TensorFlow loads
    build_parser().parse_args()

cli_common.import_tensorflow_quietly()  # TensorFlow's start-up lines, muted (unless TF_CPP_MIN_LOG_LEVEL is set)

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import tensorflow as tf  # noqa: E402
from interleave import interleaved_times, medians  # noqa: E402 (bench/interleave.py)

from transformer_tf import Translator  # noqa: E402
from transformer_tf.attention_maps import sentence_attention  # noqa: E402
from transformer_tf.config import TrainConfig  # noqa: E402
from transformer_tf.data import batch_pairs, count_batches, encode_pairs, load_splits  # noqa: E402
from transformer_tf.errors import TransformerTFError  # noqa: E402
from transformer_tf.evaluate import evaluate, evaluation_pairs  # noqa: E402
from transformer_tf.plot import plot_attention_heads  # noqa: E402
from transformer_tf.train import build_model, training_pairs  # noqa: E402


def epoch_events(log_dir, split, tag="epoch_loss"):
    """``[(file_start, [(epoch, wall_time, value), ...]), ...]`` per event file of
    ``log_dir/split``, oldest file first (a resumed run writes a new one)."""
    runs = []
    for path in sorted(Path(log_dir, split).glob("events.out.tfevents.*"), key=lambda p: p.stat().st_mtime):
        start, points = None, []
        for raw in tf.data.TFRecordDataset(str(path)):
            event = tf.compat.v1.Event.FromString(raw.numpy())
            start = event.wall_time if start is None else start
            for value in event.summary.value:
                if value.tag == tag:
                    points.append((int(event.step), event.wall_time, float(tf.make_ndarray(value.tensor))))
        if start is not None:
            runs.append((start, points))
    return runs


def validation_losses(log_dir):
    """``{epoch (1-based): validation loss}``; a repeated epoch (a resumed run) keeps the last."""
    return {epoch + 1: value for _, points in epoch_events(log_dir, "validation") for epoch, _, value in points}


def training_seconds(log_dir, epochs):
    """Seconds of training until the end of epoch ``epochs``: per event file, from its start to
    its last epoch end within those epochs."""
    total = 0.0
    for start, points in epoch_events(log_dir, "train"):
        ends = [wall for epoch, wall, _ in points if epoch < epochs]
        total += max(ends) - start if ends else 0.0
    return total


def training_batches(config, translator, data, count):
    """``(steps an epoch, the first ``count`` batches of a shuffled epoch)`` of the run's own
    training data: the training split and its augmented copies, encoded with the folder's tokenizers."""
    config = dataclasses.replace(config, data=data or config.data)
    pairs, _ = training_pairs(config, load_splits(config))
    encoded, _ = encode_pairs(pairs, translator.source_tokenizer, translator.target_tokenizer, config.max_tokens)
    steps = count_batches(batch_pairs(encoded, config.batch_size, config.max_tokens))
    batches = batch_pairs(encoded, config.batch_size, config.max_tokens, shuffle_seed=config.seed).take(count)
    return steps, list(batches)


def step_times(configs, translators, batches, rounds):
    """``{name: median seconds of one training step}``: a fresh compiled model per folder
    (its config, mixed precision included), every one trained on the same ``batches``,
    taking turns round by round after a warm-up pass that traces every batch shape."""
    models = {
        name: build_model(configs[name], t.source_tokenizer.vocab_size, t.target_tokenizer.vocab_size)
        for name, t in translators.items()
    }

    def train_round(model):
        for x, y in batches:
            model.train_on_batch(x, y)

    for model in models.values():
        train_round(model)
    times = interleaved_times({name: (lambda m=m: train_round(m)) for name, m in models.items()}, rounds)
    return {name: seconds / len(batches) for name, seconds in medians(times).items()}


def describe(checkpoint_dir):
    """One line naming the folder's model kind and size."""
    config = TrainConfig.load(checkpoint_dir)
    if config.model == "rnn":
        return f"RNN, bidirectional {config.rnn_cell} {config.rnn_units}, Bahdanau"
    return f"Transformer, {config.num_layers} layers, d_model {config.d_model}"


def main():
    args = build_parser().parse_args()
    if len(args.checkpoint_dir) != len(args.log_dir):
        raise TransformerTFError("give one --log-dir per --checkpoint-dir, in the same order.")

    folders = [Path(d) for d in args.checkpoint_dir]
    translators = {folder.name: Translator.from_checkpoint(folder) for folder in folders}
    splits = [evaluation_pairs(folder, None, args.data, args.limit)[0] for folder in folders]
    if any(split != splits[0] for split in splits[1:]):
        raise TransformerTFError(
            "the folders' held-out test splits differ (corpus subset, fractions or seed): "
            "train both with the same --data, --max-pairs, --val-fraction, --test-fraction and --seed."
        )
    pairs = splits[0]
    configs = {folder.name: TrainConfig.load(folder) for folder in folders}
    # A folder's config says how many epochs its weights had (a run may have gone on after its release).
    losses = {
        name: {epoch: loss for epoch, loss in validation_losses(log).items() if epoch <= configs[name].epochs}
        for name, log in zip(translators, args.log_dir)
    }
    common = min((max(curve) if curve else 0) for curve in losses.values())
    sources = [en for en, _ in pairs]

    epoch_steps, batches = {}, None
    for name, translator in translators.items():
        epoch_steps[name], own = training_batches(configs[name], translator, args.data, args.step_batches)
        batches = batches or own  # the first folder's batches for every model: the same work
    step = step_times(configs, translators, batches, args.speed_rounds)

    rows = {}
    for (name, translator), folder, log_dir in zip(translators.items(), folders, args.log_dir):
        greedy = evaluate(translator, pairs, args.batch_size, 1)
        beam = evaluate(translator, pairs, args.batch_size, args.beam)
        rows[name] = {
            "model": describe(folder),
            "parameters": f"{translator.model.count_params():,}",
            "epochs": str(max(losses[name], default=0)),
            f"training time to epoch {common}, as logged": f"{training_seconds(log_dir, common) / 60:.0f} min",
            "train step, side by side": f"{step[name] * 1000:.0f} ms",
            f"training time to epoch {common} at that step": (
                f"{step[name] * epoch_steps[name] * common / 60:.0f} min ({epoch_steps[name]:,} steps an epoch)"
            ),
            f"val loss at epoch {common}": f"{losses[name].get(common, float('nan')):.3f}",
            "greedy BLEU / chrF": f"{greedy['bleu']:.1f} / {greedy['chrf']:.1f}",
            f"beam {args.beam} BLEU / chrF": f"{beam['bleu']:.1f} / {beam['chrf']:.1f}",
        }
    times = interleaved_times(
        {name: (lambda t=t: t.translate_sentences(sources, args.batch_size)) for name, t in translators.items()},
        args.speed_rounds,
    )
    for name, seconds in medians(times).items():
        rows[name]["greedy sentences/s"] = f"{len(sources) / seconds:,.0f}"

    names = list(rows)
    table = [f"| | {' | '.join(names)} |", "|---|" + "---:|" * len(names)]
    table += [f"| {key} | {' | '.join(rows[n][key] for n in names)} |" for key in rows[names[0]]]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text = (
        f"{len(pairs):,} held-out test pairs; speed: median of {args.speed_rounds} interleaved rounds, "
        f"batch {args.batch_size}; train step: median of {args.speed_rounds} interleaved rounds of "
        f"{len(batches)} training batches of {configs[names[0]].batch_size}\n\n" + "\n".join(table) + "\n"
    )
    (out / "comparison.md").write_text(text)
    print(text)

    fig, ax = plt.subplots(figsize=(7, 4))
    for name, curve in losses.items():
        ax.plot(list(curve), list(curve.values()), marker="o", label=f"{name} ({rows[name]['model']})")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation loss (label-smoothed cross-entropy)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "val_loss.png", dpi=100)
    print(f"wrote {out / 'comparison.md'}, {out / 'val_loss.png'}")

    for name, translator in translators.items():
        attention = sentence_attention(translator, args.sentence)
        kind = "cross" if "cross" in attention.kinds else "decoder_block2"
        rows_, columns = attention.labels(kind)
        figure = plot_attention_heads(
            attention.matrix(kind, attention.num_layers),
            columns,
            rows_,
            title=f'{name}: "{args.sentence}" → "{attention.translation}"',
        )
        figure.savefig(out / f"attention_{name}.png", dpi=90)
        print(f"wrote {out / f'attention_{name}.png'}")


if __name__ == "__main__":
    try:
        main()
    except TransformerTFError as err:
        print(f"rnn_vs_transformer: error: {err}", file=sys.stderr)
        sys.exit(2)
