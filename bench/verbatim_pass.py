"""Web and e-mail addresses, handles and tags through the model as typed, or as stand-in names?

``transformer_tf.verbatim`` sends each address of a sentence to the model as a name it copies
(Tom, John) and puts the address back into the translation. This compares the shipped model's
translations with that pass and without it (each sentence as typed) on two sets:

- ``held-out``: the pairs of the model's validation and test splits whose English and Spanish each
  hold "Tom" once, with Tom made an address on both sides, the four kinds in turn
  (``tom@example.com``, ``https://tom.example.com``, ``@tom_92``, ``#tom``): everyday sentences
  around an address, with real references;
- ``written``: ``bench/verbatim_en_es.tsv``, 24 sentences of the kinds people write around
  addresses (six of each kind), with references written for this bench (so the set is small and
  its scores are a guide).

For each set and way: the share of translations that hold each address of their English exactly,
how many sentences had a stand-in that did not come back once (each then translated as it was),
and sacreBLEU BLEU/chrF.

    python bench/verbatim_pass.py [--checkpoint-dir checkpoints/en_es] [--data PATH]
"""

import re
from pathlib import Path

import held_out

WRITTEN = Path(__file__).with_name("verbatim_en_es.tsv")
ADDRESSES = ("tom@example.com", "https://tom.example.com", "@tom_92", "#tom")


def _held_out_set(pairs):
    """``pairs`` holding "Tom" once on each side, Tom made each of :data:`ADDRESSES` in turn."""
    tom = re.compile(r"\bTom\b")
    kept = [(en, es) for en, es in pairs if len(tom.findall(en)) == 1 == len(tom.findall(es))]
    return [
        (tom.sub(ADDRESSES[i % len(ADDRESSES)], en), tom.sub(ADDRESSES[i % len(ADDRESSES)], es))
        for i, (en, es) in enumerate(kept)
    ]


def main(argv=None):
    args, pairs, translator = held_out.start(__doc__, argv)
    from transformer_tf import verbatim

    written = held_out.written_pairs(WRITTEN)
    sets = {"held-out, Tom made an address": _held_out_set(pairs), "written": written}
    print(f"{args.engine}, greedy; a row per set and way")

    def kept(english, translation):
        return all(address in translation for address in verbatim.ADDRESS.findall(english))

    outputs = held_out.pass_rows(translator.translate, verbatim, sets, kept, "addresses kept")
    held_out.print_examples(sets, outputs, "stand-ins")


if __name__ == "__main__":
    main()
