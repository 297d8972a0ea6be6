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

    python bench/final_punctuation.py [--checkpoint-dir checkpoints/en_es] [--data spa.txt]

Prints BLEU and chrF of each, over all the sentences and over the questions alone.
"""

import argparse

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

    from transformer_tf.ctranslate2_engine import CTranslate2Translator
    from transformer_tf.evaluate import evaluation_pairs

    pairs, _ = evaluation_pairs(args.checkpoint_dir, data=args.data)
    pairs = [(en, es) for en, es in pairs if en[-1:] in FINAL and es[-1:] in FINAL]
    translator = CTranslate2Translator.from_checkpoint(args.checkpoint_dir)
    references = [bare(es) for _, es in pairs]
    inputs = {
        "bare": [bare(en) for en, _ in pairs],
        'bare + "."': [bare(en) + "." for en, _ in pairs],
        "original": [en for en, _ in pairs],
    }
    questions = [i for i, (en, _) in enumerate(pairs) if en.endswith("?")]
    print(f"{len(pairs):,} test sentences ending in . ! ? ({len(questions):,} questions); words only, scored:")
    for name, sentences in inputs.items():
        outputs = [bare(out) for out in translator.translate_sentences(sentences, 128, 1, False)]
        asked = [outputs[i] for i in questions]
        print(
            f"  {name:12s} BLEU {sacrebleu.corpus_bleu(outputs, [references]).score:5.1f}  "
            f"chrF {sacrebleu.corpus_chrf(outputs, [references]).score:5.1f}  "
            f"questions: chrF {sacrebleu.corpus_chrf(asked, [[references[i] for i in questions]]).score:5.1f}"
        )


if __name__ == "__main__":
    main()
