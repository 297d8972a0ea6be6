"""Emoticons through the model as typed, or carried around it as the emoji are?

``transformer_tf.pictographs`` takes emoticons that stand apart from the words (``:)``, ``<3``,
``:D``, ``;)``, ``:(``) out of a sentence before the model and puts them back into its
translation, as it does emoji. This compares the shipped model's translations with emoticons
carried (``EMOTICON`` as shipped) and as typed (no emoticon recognised) on:

- ``held-out``: a seeded sample of the model's validation and test pairs, an emoticon written after
  the English (``:)``, ``<3``, ``:D``, ``;)``, ``:(`` in turn, after a space) and after the Spanish
  reference's final punctuation, where :func:`~transformer_tf.pictographs.put_back` puts one that
  followed the English's.

Prints sacreBLEU BLEU/chrF of each way, and examples.

    python bench/emoticon_pass.py [--sample N] [--checkpoint-dir checkpoints/en_es] [--data PATH]
"""

import random
import re

import held_out

EMOTICONS = (":)", "<3", ":D", ";)", ":(")


def _with_emoticons(pairs):
    """``pairs`` with an emoticon of :data:`EMOTICONS` (in turn) after both sides."""
    return [(f"{en} {EMOTICONS[i % 5]}", f"{es} {EMOTICONS[i % 5]}") for i, (en, es) in enumerate(pairs)]


def main(argv=None):
    args, pairs, translator = held_out.start(__doc__, argv, sample=(1000, "held-out pairs in the sample"))
    from transformer_tf import pictographs

    sample = random.Random(0).sample(pairs, min(args.sample, len(pairs)))
    sets = {"held-out, an emoticon after": _with_emoticons(sample)}
    print(f"{args.engine}, greedy")
    never = re.compile(r"(?!)")
    outputs = held_out.rewrite_rows(translator.translate, pictographs, "EMOTICON", sets, "carried", off=never)
    held_out.print_examples(sets, outputs, "carried", count=7)


if __name__ == "__main__":
    main()
