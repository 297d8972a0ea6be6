"""What the shipped translator does with a sentence typed without its final punctuation.

The corpus's sentences end in ``.``, ``!`` or ``?``; users of the live app and of ``translate``
often leave it out ("Hello", "Where is the station"). On the held-out test split's sentences
that end in one of them (CTranslate2, the default engine), three inputs are scored against the
references, with the final punctuation (and Spanish's opening ``¿ ¡``) taken off outputs and
references alike, so that only the words count:

- ``bare``: the sentence without its final punctuation, as the user typed it (what happens today);
- ``bare + "."``: the same with a ``.`` added for the model (a pre-pass that would then take the
  model's final punctuation off again);
- ``original``: the sentence with its own punctuation (the ceiling: a ``?`` tells a question).

``bare`` runs twice: as the translators take it (``transformer_tf.punctuation`` gives a sentence
that reads as a question its ``?``), and with that pass off (``bare, no ? added``). The words are
scored alone, and again as written (the punctuation counts: "¿Dónde está?" against "Dónde está.").
The validation split's sentences also measure :func:`~transformer_tf.punctuation.reads_as_question`
on the sentences without their final punctuation: the share of those it calls questions that are,
and of the questions it finds.

    python bench/final_punctuation.py [--checkpoint-dir checkpoints/en_es] [--data spa.txt]

Prints BLEU and chrF of each, over all the sentences and over the questions alone.
"""

import argparse
from unittest import mock

import cli_common

cli_common.quiet_tensorflow()  # before TensorFlow loads; TF_CPP_MIN_LOG_LEVEL=0 shows its logs

FINAL = ".!?"


def bare(text):
    """``text`` without its final punctuation and Spanish's opening marks."""
    text = text.rstrip()
    while text and text[-1] in FINAL:
        text = text[:-1].rstrip()
    return text.lstrip("¿¡")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint-dir", default="checkpoints/en_es")
    parser.add_argument("--data", help="spa.txt, if not where the model was trained from")
    args = parser.parse_args()

    cli_common.import_tensorflow_quietly()  # the held-out split is read with it (transformer_tf.data)
    import sacrebleu

    from transformer_tf import punctuation
    from transformer_tf.ctranslate2_engine import CTranslate2Translator
    from transformer_tf.evaluate import evaluation_pairs

    validation, _ = evaluation_pairs(args.checkpoint_dir, data=args.data, split="validation")
    asked = [en.endswith("?") for en, _ in validation if en[-1:] in FINAL]
    said = [punctuation.reads_as_question(bare(en)) for en, _ in validation if en[-1:] in FINAL]
    found = sum(a and s for a, s in zip(asked, said))
    print(
        f"reads_as_question on {len(said):,} validation sentences without their final punctuation: "
        f"{found / max(1, sum(said)):.1%} of those it calls questions are ({sum(said):,}), "
        f"it finds {found / max(1, sum(asked)):.1%} of the questions ({sum(asked):,})"
    )

    pairs, _ = evaluation_pairs(args.checkpoint_dir, data=args.data)
    pairs = [(en, es) for en, es in pairs if en[-1:] in FINAL and es[-1:] in FINAL]
    translator = CTranslate2Translator.from_checkpoint(args.checkpoint_dir)
    references = [es for _, es in pairs]
    inputs = {
        "bare, no ? added": [bare(en) for en, _ in pairs],
        "bare": [bare(en) for en, _ in pairs],
        'bare + "."': [bare(en) + "." for en, _ in pairs],
        "original": [en for en, _ in pairs],
    }
    questions = [i for i, (en, _) in enumerate(pairs) if en.endswith("?")]
    print(f"{len(pairs):,} test sentences ending in . ! ? ({len(questions):,} questions), scored on:")
    print("| input | words: BLEU | chrF | questions' chrF | as written: BLEU | chrF | questions' chrF |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    never = lambda sentence: False  # noqa: E731
    for name, sentences in inputs.items():
        with mock.patch.object(
            punctuation, "reads_as_question", never if name.endswith("no ? added") else punctuation.reads_as_question
        ):
            outputs = translator.translate_sentences(sentences, 128, 1, False)
        cells = []
        for strip in (bare, str):
            out, ref = [strip(o) for o in outputs], [strip(r) for r in references]
            cells += [
                sacrebleu.corpus_bleu(out, [ref]).score,
                sacrebleu.corpus_chrf(out, [ref]).score,
                sacrebleu.corpus_chrf([out[i] for i in questions], [[ref[i] for i in questions]]).score,
            ]
        print(f"| {name} | " + " | ".join(f"{c:.1f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
