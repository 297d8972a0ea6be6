"""Titles before names (Mr. Smith, Dr. Jones) through the model as typed, or as stand-in first names?

``transformer_tf.titles`` sends each title with its name to the model as a first name the corpus's
Spanish keeps (Tom, John; Mary for Mrs., Ms. and Miss) and puts the Spanish form back, with the
article Spanish needs (el Sr. Smith, al Dr. Jones, de la Sra. Brown; none in direct address). This
compares the shipped model's translations with that pass and without it on two sets:

- ``written``: ``bench/titles_en_es.tsv``, 30 sentences with titled names as subject, object,
  possessor, in direct address, in questions and two in one sentence, with references written for
  this bench (so the set is small and its scores are a guide);
- ``held-out``: the pairs of the model's validation and test splits whose English and Spanish each
  hold "Tom" (then "Mary") once, with the name made "Mr. Smith" ("Mrs. Brown") on the English side
  and on the Spanish side written as Spanish writes a titled name there (the article by the words
  around it: the same rule as the pass's, so these scores say how often the pass gives the name back
  in a sentence the model knows, not how well it translates).

For each set and way: the share of translations that hold each titled name's Spanish form, how many
sentences had a stand-in that did not come back once (each then translated as typed), and sacreBLEU
BLEU/chrF.

    python bench/titles_pass.py [--checkpoint-dir checkpoints/en_es] [--data PATH]
"""

import re
from pathlib import Path

import held_out

WRITTEN = Path(__file__).with_name("titles_en_es.tsv")
MADE = {"Tom": ("Mr. Smith", "Sr. Smith", "m"), "Mary": ("Mrs. Brown", "Sra. Brown", "f")}


def _held_out_set(pairs, name):
    """``pairs`` holding ``name`` once on each side, made a titled name (:data:`MADE`) on both."""
    from transformer_tf.titles import put_back, take_out

    english_form, spanish_form, gender = MADE[name]
    found = re.compile(rf"\b{name}\b")
    made = []
    for en, es in pairs:
        if len(found.findall(en)) == 1 == len(found.findall(es)):
            english = found.sub(english_form, en)
            addressed = take_out(english)[1].get(name, (None, None, False))[2]
            made.append((english, put_back(es, {name: (spanish_form, gender, addressed)})))
    return made


def main(argv=None):
    args, pairs, translator = held_out.start(__doc__, argv)
    from transformer_tf import titles

    sets = {
        "written": held_out.written_pairs(WRITTEN),
        "held-out, Tom made Mr. Smith": _held_out_set(pairs, "Tom"),
        "held-out, Mary made Mrs. Brown": _held_out_set(pairs, "Mary"),
    }
    print(f"{args.engine}, greedy; a row per set and way")

    def kept(english, translation):
        spanish = [titled for titled, _, _ in titles.take_out(english)[1].values()]
        return all(form in translation or form[0].upper() + form[1:] in translation for form in spanish)

    outputs = held_out.pass_rows(translator.translate, titles, sets, kept, "titled names in Spanish form")
    held_out.print_examples(sets, outputs, "stand-ins")


if __name__ == "__main__":
    main()
