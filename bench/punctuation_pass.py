"""Dashes, brackets and ellipses through the model as typed, or as the corpus's commas and full stops?

``transformer_tf.punctuation`` rewrites a dash between words and a bracket pair as commas and an
ellipsis as a comma (inside) or a full stop (at the end, given back to the translation). The
corpus has almost none of them, so the sets are held-out pairs (the model's validation and test
splits) written with them, the references as they are, except for the ellipsis:

- ``ellipsis``: pairs ending in one full stop on both sides, each ending in "..." instead (both sides);
- ``dash``: pairs with one ", " in the English and one in the Spanish, the English's written " - ";
- ``brackets``: pairs whose English holds one inner clause between two commas (", my brother,"),
  written in brackets ("(my brother)").

For each set and way: the share of translations that make no number up (a digit that the English
lacks: the model's usual failure on these marks, "Tom 9mymy está aquí.") and that end in the
English's ellipsis where it has one; sacreBLEU BLEU/chrF.

    python bench/punctuation_pass.py [--checkpoint-dir checkpoints/en_es] [--data PATH] [--sample 500]
"""

import random
import re

import held_out


def _sets(pairs, rng, sample):
    """``{name: pairs}`` made from held-out ``pairs`` (see above), at most ``sample`` each."""
    ellipsis = [
        (en[:-1] + "...", es[:-1] + "...")
        for en, es in pairs
        if en.endswith(".") and es.endswith(".") and en.count(".") == 1
    ]
    dash = [(en.replace(", ", " - "), es) for en, es in pairs if en.count(", ") == 1 == es.count(", ")]
    inner = re.compile(r"(?<=\w), ([^,]+), (?=\w)")
    brackets = [(inner.sub(r" (\1) ", en), es) for en, es in pairs if en.count(",") == 2 and inner.search(en)]
    return {
        name: rng.sample(made, min(sample, len(made)))
        for name, made in (("ellipsis", ellipsis), ("dash", dash), ("brackets", brackets))
    }


def _kept(english, translation):
    """No number that ``english`` lacks in ``translation``; the same final ellipsis, if any."""
    made_up = set(re.findall(r"\d+", translation)) - set(re.findall(r"\d+", english))
    return not made_up and (not english.endswith("...") or translation.rstrip("?!").endswith("..."))


def main(argv=None):
    args, pairs, translator = held_out.start(__doc__, argv, sample=(500, "held-out pairs a set"))
    from transformer_tf import punctuation

    sets = _sets(pairs, random.Random(0), args.sample)
    print(f"{args.engine}, greedy; a row per set and way")
    outputs = held_out.pass_rows(
        translator.translate, punctuation, sets, _kept, "no number made up, ellipsis kept", on="rewritten"
    )
    print("\nexamples, as typed → rewritten:")
    for name, made in sets.items():
        for j in range(3):
            print(f"  {made[j][0]}\n    {outputs[name, 'as typed'][j]}\n    {outputs[name, 'rewritten'][j]}")


if __name__ == "__main__":
    main()
