"""A date in May through the model as typed, or as a date in June?

``transformer_tf.dates`` sends "May" before a day to the model as "June" (before a day, the shipped model
reads "May" as the verb) and writes "mayo" for the "junio" that comes back. This compares the shipped
model's translations with that pass and without it on two sets:

- ``written``: ``bench/may_en_es.tsv``, 16 dates in May as people write them (month first, day first,
  with a year, an ordinal), references written for this bench (a guide: the set is small);
- ``dates made May``: the rows of ``bench/dates_en_es.tsv`` (``bench/symbols_pass.py``'s written
  dates) that hold a day, their month made May on both sides (a check of the pass on every date form the
  symbols pass writes, not of the model: the corpus holds one "May" with a day).

For each set and way: the share of translations that hold "mayo", how many sentences had a stand-in
that did not come back (each then translated as typed), and sacreBLEU BLEU/chrF.

    python bench/dates_pass.py [--checkpoint-dir checkpoints/en_es] [--data PATH]
"""

import re
from pathlib import Path

import held_out

WRITTEN = Path(__file__).with_name("may_en_es.tsv")
DATES = Path(__file__).with_name("dates_en_es.tsv")
_MONTHS = "January|February|March|April|June|July|August|September|October|November|December"
_MESES = "enero|febrero|marzo|abril|junio|julio|agosto|septiembre|octubre|noviembre|diciembre"


def _made_may(pairs):
    """The ``pairs`` whose English holds a month beside a day, that month made May on both sides."""
    day = re.compile(rf"\b(?:({_MONTHS}) \d|\d+(?:st|nd|rd|th)? ({_MONTHS}))\b")
    return [
        (re.sub(rf"\b(?:{_MONTHS})\b", "May", en), re.sub(rf"\b(?:{_MESES})\b", "mayo", es))
        for en, es in pairs
        if day.search(en)
    ]


def main(argv=None):
    args, _, translator = held_out.start(__doc__, argv)
    from transformer_tf import dates

    sets = {"written": held_out.written_pairs(WRITTEN), "dates made May": _made_may(held_out.written_pairs(DATES))}
    print(f"{args.engine}, greedy; a row per set and way")
    outputs = held_out.pass_rows(translator.translate, dates, sets, lambda en, out: "mayo" in out.lower(), '"mayo"')
    held_out.print_examples(sets, outputs, "stand-ins")


if __name__ == "__main__":
    main()
