"""``transformer-tf``: the command line of the Transformer package.

Sub-commands:
    demo    the multi-head attention article's worked example (shapes, masks, heatmaps)
    train   train (or resume) the English→Spanish translator
    translate  translate English sentences with the newest checkpoint
    evaluate   sacreBLEU BLEU and chrF on the held-out test split (--split validation, or --pairs TSV)
    export     a SavedModel whose `translate` signature maps strings to strings
    release    the newest checkpoint's weights alone (what the repository ships)
    plot-attention  heatmaps of every head of every layer for a sentence
    shortlist  the lexical shortlist of fast greedy decoding, from the model's training split
    casing     the case and spelling tables (capitals, lower case, British spellings, "dont"), from the same split
    serve      the translators and the attention explorer as a local web app and JSON API
"""

import argparse
import sys

import cli_common

# config.py and errors.py import no TensorFlow: --help and a bad flag answer at once. Each
# handler imports its stage (and with it TensorFlow) when it runs.
from transformer_tf.config import (
    ATTENTION_KINDS,
    DEFAULT_LOG_DIR,
    MODEL_KINDS,
    PRESETS,
    RNN_CELLS,
    SPLIT_METHODS,
    STRATEGIES,
    TOKENIZERS,
    WORKER_TIMEOUT,
    TrainConfig,
)
from transformer_tf.errors import TransformerTFError
from transformer_tf.serve_cli import add_serve_parser, run_serve
from transformer_tf.translate_cli import (
    TENSORFLOW_WHEN_NEEDED,
    add_checkpoint_dir,
    add_evaluate_parser,
    add_translate_parser,
)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="transformer-tf",
        description="The Transformer of the attention article series, in TensorFlow/Keras.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--verbose",
        action="store_true",
        help="show TensorFlow's start-up and C++ log lines (hidden unless TF_CPP_MIN_LOG_LEVEL is set)",
    )
    for add in (
        _add_demo,
        _add_train,
        add_translate_parser,  # transformer_tf/translate_cli.py
        add_evaluate_parser,
        _add_export,
        _add_release,
        _add_plot,
        _add_shortlist,
        _add_casing,
        add_serve_parser,  # transformer_tf/serve_cli.py
    ):
        command, handler = add(sub, common)
        # translate imports TensorFlow only where it decodes with it (or converts the model once), serve
        # in the processes that load the models (not in the parent of its --workers)
        imports_itself = handler in (*TENSORFLOW_WHEN_NEEDED, run_serve)
        command.set_defaults(handler=handler if imports_itself else _with_tensorflow(handler))
    return parser


def _with_tensorflow(handler):
    """``handler``, run once TensorFlow has loaded without its start-up log lines (unless --verbose)."""

    def run(args):
        cli_common.import_tensorflow_quietly()
        return handler(args)

    return run


def _add_demo(sub, common):
    demo = sub.add_parser("demo", parents=[common], help="run the multi-head attention worked example")
    demo.add_argument("--out", metavar="DIR", help="also write attention heatmap PNGs to DIR")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default %(default)s)")
    return demo, _demo


def _add_train(sub, common):
    train = sub.add_parser(
        "train",
        parents=[common],
        help="train or resume the English→Spanish translator",
        description="The blog's architecture with a joint vocabulary, tied embeddings, "
        "augmented data and label smoothing (--preset blog: the blog's exact "
        "setup). Flags given override the preset. An existing --checkpoint-dir "
        "is resumed. --model rnn trains the series' previous step instead: an RNN "
        "encoder-decoder with Bahdanau attention (the --rnn-* flags).",
    )
    train.add_argument(
        "--preset",
        default="default",
        choices=tuple(PRESETS),
        help="the starting values of the model, data and optimisation flags below (default %(default)s)",
    )
    _add_config_flags(train)
    add_checkpoint_dir(train)
    train.add_argument("--log-dir", default=DEFAULT_LOG_DIR, help="TensorBoard logs (default %(default)s)")
    train.add_argument(
        "--strategy", default="default", choices=STRATEGIES, help="tf.distribute strategy (default: none)"
    )
    train.add_argument(
        "--cpu-replicas",
        type=int,
        metavar="N",
        help="split the CPU into N logical devices (to try --strategy without GPUs)",
    )
    train.add_argument(
        "--worker-timeout",
        type=int,
        default=WORKER_TIMEOUT,
        metavar="SECONDS",
        help="--strategy multiworker: give up if not every worker of TF_CONFIG is up within "
        "SECONDS (default %(default)s)",
    )
    return train, _train


def _add_export(sub, common):
    export = sub.add_parser(
        "export",
        parents=[common],
        help="write a string-to-string SavedModel of the translator (or a CTranslate2 model)",
    )
    export.add_argument(
        "directory",
        metavar="DIR",
        help="where to write it; an earlier export there is replaced atomically, anything else is refused",
    )
    export.add_argument(
        "--force",
        action="store_true",
        help="replace whatever is at DIR (never the model's --checkpoint-dir or a folder holding it)",
    )
    export.add_argument(
        "--format",
        choices=("savedmodel", "ctranslate2"),
        default="savedmodel",
        help="savedmodel: strings to strings in TensorFlow; ctranslate2: the Transformer converted for "
        "ctranslate2.Translator (what --engine ctranslate2 runs) (default %(default)s)",
    )
    add_checkpoint_dir(export)
    return export, _export


def _add_release(sub, common):
    release = sub.add_parser(
        "release", parents=[common], help="write the newest checkpoint's weights alone, for shipping"
    )
    add_checkpoint_dir(release)
    release.add_argument(
        "--average",
        type=int,
        default=5,
        metavar="N",
        help="average the weights of the N newest checkpoints (default %(default)s; 1: newest)",
    )
    release.add_argument(
        "--interpolate-with",
        metavar="DIR",
        help="WiSE-FT: write (1 - alpha) * DIR's weights + alpha * this run's, DIR being the model "
        "the run was fine-tuned from (--init-from); default: the run's weights alone",
    )
    release.add_argument(
        "--alpha",
        type=float,
        help="with --interpolate-with: the fine-tuned weights' share, 0 to 1 (default 0.5)",
    )
    return release, _release


def _add_plot(sub, common):
    plot = sub.add_parser(
        "plot-attention",
        parents=[common],
        help="attention heatmaps of every layer for one sentence",
        description="One PNG per layer per kind (a panel a head), one overview per kind, "
        "and attention.html: an interactive explorer of them all (works offline).",
    )
    plot.add_argument("sentence", help="an English sentence")
    plot.add_argument("--out", metavar="DIR", default="runs/attention", help="(default %(default)s)")
    plot.add_argument(
        "--kind",
        action="append",
        choices=ATTENTION_KINDS,
        help="repeat to choose several (default: all the model has; a Transformer's three, an RNN's cross)",
    )
    plot.add_argument("--layers", metavar="LIST", help="comma-separated layer numbers, e.g. 1,4 (default: all)")
    add_checkpoint_dir(plot)
    return plot, _plot_attention


def _add_shortlist(sub, common):
    shortlist = sub.add_parser(
        "shortlist",
        parents=[common],
        help="build the lexical shortlist that makes greedy decoding fast",
        description="Count which target pieces the training translations of each source piece hold "
        "(the model's own training split, rebuilt from config.json) and write "
        "shortlist.npz into --checkpoint-dir; translate and evaluate use it (not with --exact).",
    )
    add_checkpoint_dir(shortlist)
    shortlist.add_argument("--data", metavar="PATH", help="spa.txt, if not where the model was trained from")
    shortlist.add_argument(
        "--frequent", type=int, default=500, help="most frequent target pieces, always allowed (default %(default)s)"
    )
    shortlist.add_argument(
        "--per-source",
        type=int,
        default=30,
        help="target pieces kept per source piece, most often seen together first (default %(default)s)",
    )
    shortlist.add_argument(
        "--min-count", type=int, default=2, help="pairs a source and target piece must share (default %(default)s)"
    )
    return shortlist, _shortlist


def _add_casing(sub, common):
    casing = sub.add_parser(
        "casing",
        parents=[common],
        help="build the case and spelling tables that let text in capitals, in lower case or in British "
        "spelling translate",
        description="Count how the training split's English (rebuilt from config.json) writes each word "
        "where it does not start a sentence, and write casing.json into --checkpoint-dir: translate, "
        "evaluate and serve then send a sentence in capitals or in lower case to the model recased "
        "(without it: 'i' alone). Also write spelling.json: the British spellings (Breame's table) whose "
        "American form the split writes more often, and its contractions typed without their apostrophe "
        "('dont'), which the model then reads in the split's form.",
    )
    add_checkpoint_dir(casing)
    casing.add_argument("--data", metavar="PATH", help="spa.txt, if not where the model was trained from")
    return casing, _casing


def _add_config_flags(parser):
    """One flag per TrainConfig field (--num-layers, --d-model, --max-pairs, --augment/--no-augment, ...).

    A flag not given is absent from the parsed arguments, so the preset's value stands.
    """
    cli_common.add_config_flags(
        parser,
        TrainConfig,
        PRESETS,
        choices={"tokenizer": TOKENIZERS, "model": MODEL_KINDS, "rnn_cell": RNN_CELLS, "split_method": SPLIT_METHODS},
        helps={
            "data": "a TSV (spa.txt, .gz too), a Moses pair PREFIX (PREFIX.en + PREFIX.es) or SOURCE,TARGET, "
            "or tfds:NAME/CONFIG prepared locally; None: spa.txt from the Keras cache, else download",
            "split_method": "held-out pairs by a seeded hash of the English sentence (streams; new runs), or "
            "grouped-shuffle (in memory; the shipped models' split). A folder keeps the one it was trained with",
            "max_pairs": "a random subset of the corpus, for quick runs; None: all",
            "bpemb_cache_dir": "--tokenizer bpemb: the BPEmb files' folder; None: BPEmb's own cache",
            "augment_places": "place-swapped copies with the Spanish form (Berlin → Berlín), a share of the pairs",
            "init_from": "fine-tune: start from this model folder's weights and tokenizer (e.g. checkpoints/en_es)",
            "learning_rate": "a constant Adam rate for fine-tuning, e.g. 1e-4; None: the warm-up schedule",
        },
    )


def config_from_args(args):
    """The TrainConfig of parsed ``train`` arguments: the preset, then the flags given."""
    return cli_common.config_from_args(args, PRESETS[args.preset])


def _demo(args):
    from transformer_tf.demo import run_demo

    run_demo(out_dir=args.out, seed=args.seed)


def _train(args):
    from transformer_tf.train import make_strategy, train

    strategy = make_strategy(
        args.strategy, args.cpu_replicas, args.worker_timeout
    )  # first: devices are fixed at TF start-up
    config = config_from_args(args)
    train(config, checkpoint_dir=args.checkpoint_dir, log_dir=args.log_dir, strategy=strategy)
    if strategy.extended.should_checkpoint:
        print(f"checkpoints, config.json and tokenizers in {args.checkpoint_dir}")
    else:  # a multi-worker run's other workers write nothing that lasts
        print("worker done; the chief's --checkpoint-dir holds the model")


def _export(args):
    if args.format == "ctranslate2":
        from transformer_tf.ctranslate2_engine import export_ctranslate2

        path = export_ctranslate2(args.checkpoint_dir, args.directory, force=args.force)
        print(f"wrote {path}: ctranslate2.Translator(...).translate_batch([[piece, ...]]) -> Spanish pieces")
        return
    from transformer_tf.export import export_translator
    from transformer_tf.translate import Translator

    path = export_translator(Translator.from_checkpoint(args.checkpoint_dir), args.directory, force=args.force)
    print(f"wrote {path}: tf.saved_model.load(...).translate(tf.constant([...])) -> Spanish strings")


def _release(args):
    from transformer_tf.checkpoints import release_weights
    from transformer_tf.finetune import interpolation

    blend, alpha = None, 0.5 if args.alpha is None else args.alpha
    if args.alpha is not None and not args.interpolate_with:
        raise TransformerTFError("--alpha weighs the fine-tune against --interpolate-with DIR: give both, or neither.")
    if args.interpolate_with:
        blend = interpolation(args.interpolate_with, alpha, args.checkpoint_dir)
    written = release_weights(args.checkpoint_dir, args.average, blend=blend)
    what = f"mean of the {args.average} newest checkpoints" if args.average > 1 else "newest checkpoint"
    if blend is not None:
        what = f"{1 - alpha:g} × {args.interpolate_with} + {alpha:g} × the {what}"
    print(f"wrote {written} (model weights, {what}, no optimizer state)")
    # restore_model reads a folder's newest training checkpoint before its released weights
    print(
        f"note: while {args.checkpoint_dir} holds training checkpoints, --checkpoint-dir {args.checkpoint_dir} "
        f"reads the newest of them; to use this release, copy weights/, config.json and the tokenizer "
        f"files into a folder of their own (as checkpoints/en_es is)."
    )


def _plot_attention(args):
    from pathlib import Path

    from cli_common.files import atomic_folder
    from transformer_tf.attention_maps import attention_refusal, sentence_attention
    from transformer_tf.explorer import PAGE_NAME, describe_model, sentence_page, write_attention_page
    from transformer_tf.plot import plot_attention_overview, plot_attention_weights
    from transformer_tf.text import check_argument
    from transformer_tf.translate import Translator

    problem = attention_refusal(check_argument(args.sentence, "the sentence"))
    if problem:  # before a model is loaded
        raise TransformerTFError(problem)
    try:
        layers = [int(x) for x in args.layers.split(",")] if args.layers else None
    except ValueError:
        raise TransformerTFError(f"--layers {args.layers!r}: give layer numbers like 1,4.") from None
    out = Path(args.out)
    _check_plot_folder(out)
    translator = Translator.from_checkpoint(args.checkpoint_dir)
    num_layers = translator.model.hparams.get("num_layers", 1)  # an RNN: its one attention
    if layers and not all(1 <= n <= num_layers for n in layers):
        raise TransformerTFError(f"--layers {args.layers}: this model has layers 1..{num_layers}.")
    attention = sentence_attention(translator, args.sentence)
    missing = [kind for kind in args.kind or () if kind not in attention.kinds]
    if missing:
        raise TransformerTFError(
            f"--kind {' '.join(missing)}: {type(translator.model).__name__} has no such attention; "
            f"it has {', '.join(attention.kinds)}."
        )
    print(f"{args.sentence} → {attention.translation}")
    kinds = args.kind or attention.kinds
    figures = plot_attention_weights(attention, kinds, layers)
    figures.update({f"overview_{kind}": plot_attention_overview(attention, kind, layers) for kind in kinds})
    page = sentence_page(attention, describe_model(translator, args.checkpoint_dir), kinds, layers)
    # the figures and the page replace the folder's earlier set as one (cli_common.files.atomic_folder)
    with atomic_folder(out, _check_plot_folder) as partial:
        for stem, figure in figures.items():
            figure.savefig(partial / f"{stem}.png", dpi=90)
        write_attention_page(page, partial / PAGE_NAME)
    for stem in figures:
        print(f"wrote {out / stem}.png")
    print(f"wrote {out / PAGE_NAME} (open it in a browser: every layer, head and kind)")


def _check_plot_folder(out):
    """``plot-attention --out`` replaces the folder whole: refuse a file, a model folder or anything
    inside one, and a folder that is not empty nor an earlier plot-attention set (PNGs and the page)."""
    from transformer_tf.checkpoints import enclosing_model_folder, is_model_folder
    from transformer_tf.explorer import PAGE_NAME

    if out.exists() and not out.is_dir():
        raise TransformerTFError(f"--out {out} is a file: give a folder for the PNGs and {PAGE_NAME}.")
    model_folder = out if is_model_folder(out) else enclosing_model_folder(out)
    if model_folder:
        raise TransformerTFError(
            f"--out {out} is or lies inside the model folder {model_folder}: plot-attention never writes "
            f"there; give another folder, e.g. runs/attention."
        )
    if not out.is_dir():
        return
    entries = list(out.iterdir())
    earlier_set = (out / PAGE_NAME).is_file() and all(p.is_file() and p.suffix in (".png", ".html") for p in entries)
    if entries and not earlier_set:
        raise TransformerTFError(
            f"--out {out} holds files that are not an earlier plot-attention set (PNGs and {PAGE_NAME}); "
            f"the folder is replaced whole: give a new or empty folder."
        )


def _shortlist(args):
    from transformer_tf.shortlist import build_for_checkpoint

    sizes = dict(frequent=args.frequent, per_source=args.per_source, min_count=args.min_count)
    path, shortlist, pairs = build_for_checkpoint(args.checkpoint_dir, args.data, **sizes)
    print(
        f"wrote {path}: {len(shortlist.frequent)} frequent pieces and {len(shortlist.candidates):,} "
        f"source → target candidates from {pairs:,} training pairs"
    )


def _casing(args):
    from transformer_tf import casing, spelling

    case_path, table, english = casing.build_for_checkpoint(args.checkpoint_dir, args.data)
    spelling_path, spellings = spelling.build_for_checkpoint(args.checkpoint_dir, english)
    british = spellings.count_british()
    print(
        f"wrote {case_path}: {len(table.forms):,} words and {len(table.phrases):,} names of several words not in "
        f"lower case, from {len(english):,} training pairs and the place gazetteer\n"
        f"wrote {spelling_path}: {british:,} British spellings whose American form those pairs write more often, "
        f"{len(spellings.forms) - british:,} contractions typed without their apostrophe"
    )


def main(argv=None):
    """Entry point; returns the exit status (0 ok, 2 user error, 130 interrupted): see :mod:`cli_common`.

    TensorFlow's log lines are hidden unless ``--verbose`` or the user's own ``TF_CPP_MIN_LOG_LEVEL``.
    """
    return cli_common.run(build_parser, argv, TransformerTFError)


if __name__ == "__main__":
    sys.exit(main())
