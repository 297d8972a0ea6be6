"""What the pre-pass benches (``number_stand_ins.py``, ``quotes_pass.py``, ``verbatim_pass.py``,
``titles_pass.py``, ``casing_pass.py``, ``symbols_pass.py``, ``spelling_pass.py``, ``emoticon_pass.py``,
``long_sentences.py`` …) share: their model and corpus flags, the model's held-out pairs with its
translator, the table of a stand-in pass off and on (:func:`pass_rows`) or of a rewriting pass
(:func:`rewrite_rows`), and examples of both ways (:func:`print_examples`)."""

from unittest import mock


def start(description, argv=None, **flags):
    """Parse a pre-pass bench's command line and open its model: ``(args, pairs, translator)``.

    Args:
        description: the bench's docstring (its ``--help``).
        flags: ``{name: (default, help)}``: an integer flag ``--name`` of each (``N``), besides the model's.
    """
    import argparse

    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, (default, about) in flags.items():
        parser.add_argument(f"--{name}", type=int, default=default, metavar="N", help=f"{about} (default {default})")
    add_model_arguments(parser)
    args = parser.parse_args(argv)
    return (args, *held_out_and_translator(args))


def add_model_arguments(parser):
    """``--checkpoint-dir``, ``--data`` and ``--engine`` on ``parser``."""
    parser.add_argument("--checkpoint-dir", default=None, metavar="DIR", help="(default: the shipped model)")
    parser.add_argument("--data", default=None, metavar="PATH", help="the corpus (default: its config's path)")
    parser.add_argument("--engine", default="ctranslate2", choices=("ctranslate2", "tensorflow"))


def held_out_and_translator(args):
    """``(pairs, translator)``: the validation and test pairs of ``args``' model (English, Spanish) and
    its translator on ``args.engine``. TensorFlow is imported, quietly: the splits are read with it."""
    import cli_common

    cli_common.quiet_tensorflow()
    cli_common.import_tensorflow_quietly()
    from transformer_tf.config import DEFAULT_CHECKPOINT_DIR
    from transformer_tf.engines import open_translator
    from transformer_tf.evaluate import evaluation_pairs

    folder = args.checkpoint_dir or DEFAULT_CHECKPOINT_DIR
    pairs = [p for split in ("validation", "test") for p in evaluation_pairs(folder, data=args.data, split=split)[0]]
    return pairs, open_translator(folder, args.engine)


def pass_rows(translate, stage, sets, kept, what, on="stand-ins"):
    """Print one Markdown row per set of ``sets`` (``{name: [(english, spanish)]}``) and way: the
    sentences through ``translate`` with the stand-in pass of the module ``stage`` (its ``take_out`` and
    ``put_back``) off, then on. ``kept(english, translation)``: whether the translation holds what
    the pass keeps (``what`` names it in the header). Returns ``{(set, way): translations}``, the
    ways ``"as typed"`` and ``on``.
    """
    from transformer_tf.evaluate import score

    put_back = stage.put_back
    missed = []

    def counted(translation, stand_ins):
        result = put_back(translation, stand_ins)
        missed.append(result is None)
        return result

    print(f"| set | sentences | way | {what} | stand-in missed (translated as typed) | BLEU | chrF |")
    print("|---|---:|---|---:|---:|---:|---:|")
    outputs = {}
    for name, pairs in sets.items():
        english, references = [en for en, _ in pairs], [es for _, es in pairs]
        for way in ("as typed", on):
            missed.clear()
            off = {} if way == on else {"take_out": lambda s: (s, {})}
            with mock.patch.multiple(stage, put_back=counted, **off):
                out = outputs[name, way] = translate(english, progress=False)
            share = sum(map(kept, english, out)) / max(1, len(out))
            scores = score(out, references)
            print(
                f"| {name} | {len(pairs)} | {way} | {share:.1%} | {sum(missed)} | "
                f"{scores['bleu']:.1f} | {scores['chrf']:.1f} |"
            )
    return outputs


def rewrite_rows(translate, owner, name, sets, on, off=None):
    """Print one Markdown row per set of ``sets`` (``{name: [(english, spanish)]}``) and way: the
    sentences through ``translate`` with a rewriting pass (``owner.name``, a function or method that
    returns a sentence rewritten) off (``"as typed"``: it returns the sentence as it is, or ``owner.name``
    is ``off``), then ``on``. Returns ``{(set, way): translations}``."""
    from transformer_tf.evaluate import score

    ways = {"as typed": (lambda *a: a[-1]) if off is None else off, on: getattr(owner, name)}  # (self,) sentence
    print("| set | sentences | way | BLEU | chrF |")
    print("|---|---:|---|---:|---:|")
    outputs = {}
    for set_name, pairs in sets.items():
        english, references = [en for en, _ in pairs], [es for _, es in pairs]
        for way, rewrite in ways.items():
            with mock.patch.object(owner, name, rewrite):
                out = outputs[set_name, way] = translate(english, progress=False)
            scores = score(out, references)
            print(f"| {set_name} | {len(english)} | {way} | {scores['bleu']:.1f} | {scores['chrf']:.1f} |")
    return outputs


def print_examples(sets, outputs, on, count=6):
    """Print about ``count`` sentences of each set of ``sets`` (spread over it), each with its translation
    ``"as typed"`` and ``on`` (``outputs`` as :func:`pass_rows` returns them)."""
    print(f"\nexamples, as typed → {on}:")
    for name, pairs in sets.items():
        for j in range(0, len(pairs), max(1, len(pairs) // count)):
            print(f"  {pairs[j][0]}\n    {outputs[name, 'as typed'][j]}\n    {outputs[name, on][j]}")


def written_pairs(path):
    """The ``(english, spanish)`` pairs of a bench's TSV of written sentences (header: english, spanish, kind)."""
    import csv

    with open(path, encoding="utf-8", newline="") as f:
        return [(row["english"], row["spanish"]) for row in csv.DictReader(f, delimiter="\t")]
