"""The ``transformer-tf translate`` and ``evaluate`` sub-commands: their flags and handlers
(:mod:`transformer_tf.cli` registers them), and the flags other sub-commands share with them.

``translate`` imports TensorFlow only where it needs it: on the TensorFlow engine, or to convert
a model to CTranslate2 once (:mod:`transformer_tf.ctranslate2_engine`). With the converted
model cached and fresh, a translation runs without it, and starts in well under a second.
"""

import argparse
import contextlib
import functools
import itertools
import sys

import cli_common
from transformer_tf.config import DEFAULT_CHECKPOINT_DIR, DEFAULT_ENGINE, ENGINES, HELD_OUT_SPLITS, PLACES
from transformer_tf.errors import TransformerTFError

# --batch-size by engine. Large batches cost TensorFlow little padding (sentences are sorted by
# length) and its greedy decoding drops finished sentences from the batch (transformer_tf.fast_decode).
# CTranslate2's two threads take a batch each: at 128 the last, longest batches share out better
# than at 256 (3,000 loaded sentences, idle machine: 1.07 s best against 1.28 s; docs/benchmarks.md).
BATCH_SIZES = {"ctranslate2": 128, "tensorflow": 256}

# translate writes its output this many batches at a time (SentenceTranslator.translate_chunks; fewer
# lines when a pipe pauses): a long --file shows life, a job stopped midway keeps every line before the
# chunk it was in, and CTranslate2 decodes one chunk while the next is split, pre-passed and tokenized
BATCHES_PER_CHUNK = 8


def add_places_flag(parser):
    """``--places``/``--no-places`` of serve, translate and evaluate: the ``places`` option of
    :class:`~transformer_tf.translate.Translator`."""
    parser.add_argument(
        "--places",
        action=argparse.BooleanOptionalAction,
        default=PLACES,
        help="write the gazetteer's places in their Spanish form (Warsaw → Varsovia): each goes to the model as a "
        "stand-in city it copies, then the Spanish form takes its place; languages and ambiguous names are left "
        "alone; --no-places: the model alone "
        "(default: %(default)s)",
    )


def add_checkpoint_dir(parser):
    """``--checkpoint-dir``: the model folder every model sub-command reads."""
    parser.add_argument(
        "--checkpoint-dir",
        default=str(DEFAULT_CHECKPOINT_DIR),
        help="the model's folder: config, tokenizers, checkpoints (default: the shipped model, %(default)s)",
    )


def _add_decoding_flags(parser, beam_help):
    parser.add_argument(
        "--batch-size",
        type=int,
        help="sentences decoded together (default: "
        + ", ".join(f"{size} on {engine}" for engine, size in BATCH_SIZES.items())
        + ")",
    )
    parser.add_argument("--beam", type=int, default=1, metavar="N", help=beam_help + " (default %(default)s: greedy)")
    parser.add_argument(
        "--streams",
        type=int,
        metavar="N",
        help="batches decoded at once, one thread each (default: one per CPU core; the translations are the same)",
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default=DEFAULT_ENGINE,
        help="what decodes: ctranslate2 (the Transformer converted once to CTranslate2, int8 weights, cached in "
        "the model folder; no TensorFlow), tensorflow (the Keras model), auto: ctranslate2 for a Transformer, "
        "tensorflow for the RNN or with --exact (default %(default)s)",
    )
    parser.add_argument(
        "--exact",
        action="store_true",
        help="greedy decoding the reference way, on TensorFlow: float32, the whole vocabulary, every sentence "
        "to the end of its batch (same translation as the default for ~97%% of sentences)",
    )
    add_places_flag(parser)


def add_translate_parser(sub, common):
    """``translate``: returns the parser and its handler, as cli.py's ``_add_*``."""
    translate = sub.add_parser(
        "translate", parents=[common], help="translate English sentences (greedy or beam search)"
    )
    translate.add_argument("sentences", nargs="*", help="English sentences (or use --file)")
    translate.add_argument(
        "--file",
        metavar="PATH",
        help="one sentence a line, read as the lines arrive (a pipe that pauses gets the answers to what it "
        "sent); '-' reads standard input (from a terminal: each line as it is typed)",
    )
    add_checkpoint_dir(translate)
    _add_decoding_flags(translate, "beam search with N beams")
    return translate, _translate


def add_evaluate_parser(sub, common):
    """``evaluate``: returns the parser and its handler, as cli.py's ``_add_*``."""
    evaluate = sub.add_parser("evaluate", parents=[common], help="BLEU and chrF on the held-out test split or a TSV")
    add_checkpoint_dir(evaluate)
    scored = evaluate.add_mutually_exclusive_group()  # a TSV, or one of the run's own splits
    scored.add_argument(
        "--pairs",
        metavar="TSV",
        help="English<TAB>Spanish pairs to score instead; with the "
        "header row english<TAB>spanish<TAB>category, also per category",
    )
    scored.add_argument(
        "--split",
        choices=HELD_OUT_SPLITS,
        default="test",
        help="the held-out split to score (default %(default)s; choose releases and settings on validation)",
    )
    evaluate.add_argument(
        "--data", metavar="PATH", help="the corpus (any form train takes), if not where the model was trained from"
    )
    evaluate.add_argument("--limit", type=int, help="score only the first N pairs")
    _add_decoding_flags(evaluate, "beam size")
    return evaluate, _evaluate


# translate reads --file this many bytes at a time (a pipe hands over what it holds, up to this)
READ_SIZE = 1 << 16


@contextlib.contextmanager
def _input_lines(args):
    """What ``translate`` reads, as ``(lines, total)``: the sentence arguments (a list, and their
    number); or the lines of ``--file`` as they arrive (:class:`~transformer_tf.text.ArrivingLines`,
    never held whole) and their number when it is known (a file on disk, read on a terminal for
    the progress bar), else None. A pipe, a terminal or a FIFO is read on a thread of its own, so
    that what has arrived is translated while the rest is awaited (a program that writes a line
    and waits for its answer gets it). The file is closed when the block ends."""
    import os
    import stat

    from transformer_tf.text import ArrivingLines, check_argument, line_blocks

    if args.file and args.sentences:
        raise TransformerTFError("give sentences as arguments or with --file, not both.")
    if not args.file:
        if not args.sentences:
            raise TransformerTFError('nothing to translate: give a sentence ("He admired her.") or --file PATH.')
        sentences = [check_argument(s, f"sentence #{i}") for i, s in enumerate(args.sentences, 1)]
        yield sentences, len(sentences)
        return
    if args.file == "-":
        stream, where = contextlib.nullcontext(sys.stdin.buffer), "standard input (--file -)"
    else:
        stream, where = open(args.file, "rb"), f"--file {args.file}"
    with stream as binary:
        try:
            descriptor = binary.fileno()
        except (AttributeError, OSError, ValueError):  # a stream in memory (a test's standard input)
            reads, on_disk = iter(functools.partial(binary.read, READ_SIZE), b""), True
        else:  # unbuffered: a pipe's read returns what it holds, and no lock is left to the reader thread
            reads = iter(functools.partial(os.read, descriptor, READ_SIZE), b"")
            on_disk = stat.S_ISREG(os.fstat(descriptor).st_mode)
        lines = ArrivingLines(line_blocks(reads, where), background=not on_disk)
        lines.wait_first()  # a first line that is not UTF-8 (UTF-16, gzip) is named before the model loads
        total = None
        if on_disk and args.file != "-" and sys.stderr.isatty():  # the progress bar's (a fast first pass)
            from transformer_tf.corpus import count_lines

            total = count_lines(args.file)
        yield lines, total


def _open_translator(args):
    """The translator the flags ask for (``args.engine`` set to the engine chosen); TensorFlow imported
    first (its start-up logs quieted) where it will be used: on its engine, or to convert the model."""
    from transformer_tf import engines
    from transformer_tf.ctranslate2_engine import fresh_model
    from transformer_tf.sentence_translator import check_batch_size

    args.engine = engines.resolve_engine(args.checkpoint_dir, args.engine, args.exact)
    if args.batch_size is None:
        args.batch_size = BATCH_SIZES[args.engine]
    check_batch_size(args.batch_size)  # before a model is loaded, or converted and cached
    converted = None if args.engine == "tensorflow" else fresh_model(args.checkpoint_dir)
    if converted is None:
        if args.engine == "ctranslate2" and sys.stderr.isatty():  # seconds of silence otherwise, on first use
            print(
                f"transformer-tf translate: converting {args.checkpoint_dir} for CTranslate2, once (~5-10 s); "
                f"later runs start in a fraction of a second",
                file=sys.stderr,
                flush=True,
            )
        cli_common.import_tensorflow_quietly()
    return engines.open_translator(
        args.checkpoint_dir,
        args.engine,
        exact=args.exact,
        places=args.places,
        streams=args.streams,
        converted=converted,
    )


def _translate(args):
    if args.file == "-" and not args.sentences and sys.stdin.isatty():
        return _translate_as_typed(args)
    with _input_lines(args) as (lines, total):
        translator = _open_translator(args)
        _write_translations(translator, lines, total, args)


def _write_translations(translator, lines, total, args):
    """``translate``'s output: a line per input line, each chunk written whole as it is done; then the
    one warning of the empty input lines."""
    from transformer_tf.sentence_translator import progress_bar
    from transformer_tf.sentences import is_blank

    chunk = args.batch_size * BATCHES_PER_CHUNK
    empty = 0  # the lines the translators leave empty
    # progress on standard error, shown only on a terminal, for more than one chunk (or a stream)
    with progress_bar(total, total is None or total > chunk, unit="line") as bar:
        for texts, translations in translator.translate_chunks(lines, args.batch_size, args.beam, chunk):
            sys.stdout.write("".join(spanish + "\n" for spanish in translations))
            sys.stdout.flush()  # in input order, as each chunk is done: whole lines
            bar.update(len(texts))
            empty += sum(map(is_blank, texts))
    if empty:  # once, not a line per blank line of a text with paragraphs
        print(f"transformer-tf translate: {empty:,} empty input line(s): left empty in the output", file=sys.stderr)


def _translate_as_typed(args):
    """``--file -`` from a terminal: each line translated as soon as it is typed, before the next
    is read. Ends at Ctrl-D (0) or Ctrl-C (130)."""
    from transformer_tf.text import line_blocks

    translator = _open_translator(args)  # the model loads once, before the first line is asked for
    print("type English, a text a line; Ctrl-D ends", file=sys.stderr, flush=True)
    typed = line_blocks(iter(sys.stdin.buffer.readline, b""), "standard input (--file -)")
    for line in itertools.chain.from_iterable(typed):
        print(translator.translate(line, args.batch_size, args.beam, progress=False), flush=True)


def _evaluate(args):
    cli_common.import_tensorflow_quietly()  # the held-out split is read with it (transformer_tf.data)
    from transformer_tf.evaluate import category_table, evaluate, evaluation_pairs

    # the pairs first: a wrong --data or --limit is named before a model is loaded (or converted)
    pairs, categories = evaluation_pairs(args.checkpoint_dir, args.pairs, args.data, args.limit, args.split)
    translator = _open_translator(args)
    result = evaluate(translator, pairs, args.batch_size, args.beam, categories)
    source = args.pairs or f"the held-out {args.split} split"
    decoding = f"beam {args.beam}" if args.beam > 1 else "greedy" + (" exact" if args.exact else "")
    print(
        f"{result['sentences']:,} sentences of {source}, {decoding} ({args.engine}): "
        f"BLEU {result['bleu']:.1f}, chrF {result['chrf']:.1f}"
    )
    if categories:
        print(category_table({"model": result}))
    print(f"sacreBLEU {result['bleu_signature']}")


#: The handlers that import TensorFlow themselves, only where they use it (cli.py wraps the others).
TENSORFLOW_WHEN_NEEDED = (_translate, _evaluate)
