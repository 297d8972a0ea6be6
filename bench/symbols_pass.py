"""Symbols and unit abbreviations through the model as typed, or spelled out first?

``transformer_tf.symbols`` rewrites ``&``, currency signs and unit abbreviations after a number
(``€20``, ``30 °C``, ``10 km``, ``60 mph``) as the corpus writes them ("20 euros", "30 degrees
Celsius", "10 kilometers", "60 miles per hour") before the model. This compares the shipped
model's translations with that pass and without it (each sentence as typed) on:

- ``held-out &``: the pairs of the model's validation and test splits whose English joins two
  words with " and " once, written " & " (the references as they are);
- ``held-out units``: those whose English holds a number with euros, kilometers, kilograms or
  kilos, meters, degrees, miles, minutes, seconds or hours, written with its sign or abbreviation
  (``€20``, ``10 km``, ``3 kg``, ``100 m``, ``30°``, ``5 mi``, ``5 min``, ``10 secs``, ``2 hrs``);
- ``held-out times``: those whose English holds a time of day as the corpus writes it ("9 a.m.",
  "2:30 p.m."), written "9am", "2:30pm";
- ``held-out ordinals``: those whose English holds an ordinal word (first … tenth) or a day of a
  month ("May 1"), written in figures with an ordinal's ending ("1st", "May 1st");
- ``held-out countries``: those whose English holds "the United States" or "the United Kingdom",
  written with an abbreviation, in turn "the U.S.", "the USA", "the UK", "the U.K.";
- ``written dates``: ``bench/dates_en_es.tsv``, 14 dates as people write them and the corpus does not
  (day first, a weekday with a comma before a dated year, a month and year, no comma before the year),
  references written for this bench;
- ``written``: ``bench/symbols_en_es.tsv``, 22 sentences with signs, units and ``&``, references
  written for this bench (a guide: the set is small).

Prints sacreBLEU BLEU/chrF of each set and way.

    python bench/symbols_pass.py [--checkpoint-dir checkpoints/en_es] [--data PATH]
"""

import re
from pathlib import Path

import held_out

WRITTEN = Path(__file__).with_name("symbols_en_es.tsv")
DATES = Path(__file__).with_name("dates_en_es.tsv")
#: ``(spelled, written)``: how the held-out units are written instead ("\\1" is the number).
ABBREVIATED = (
    (r"\b(\d+) euros\b", "€\\1"),
    (r"\b(\d+) kilometers\b", "\\1 km"),
    (r"\b(\d+) (?:kilograms|kilos)\b", "\\1 kg"),
    (r"\b(\d+) meters\b", "\\1 m"),
    (r"\b(\d+) degrees\b", "\\1°"),
    (r"\b(\d+) miles\b", "\\1 mi"),
    (r"\b(\d+) minutes\b", "\\1 min"),
    (r"\b(\d+) seconds\b", "\\1 secs"),
    (r"\b(\d+) hours\b", "\\1 hrs"),
)
#: A time as the corpus writes it ("9 a.m."), written "9am" instead (with the sentence's full stop
#: where "a.m." ended it: "at 9am.").
CLOCK = re.compile(r"\b(\d{1,2}(?::\d\d)?) ([ap])\.m\.(\s*$)?")


_SUFFIX = {1: "st", 2: "nd", 3: "rd"}
_WORDS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
_MONTH = "January|February|March|April|May|June|July|August|September|October|November|December"


def _in_figures(english):
    """``english`` with its ordinal words (first … tenth) and its days of a month ("May 1") in figures
    with an ordinal's ending ("1st", "May 1st")."""
    english = re.sub(rf"\b({'|'.join(_WORDS)})\b", lambda m: _figure(_WORDS.index(m[1]) + 1), english)
    return re.sub(rf"\b({_MONTH}) (\d{{1,2}})\b(?!,\d)", lambda m: f"{m[1]} {_figure(int(m[2]))}", english)


def _figure(n):
    return f"{n}{'th' if 10 <= n % 100 <= 20 else _SUFFIX.get(n % 10, 'th')}"


#: How the held-out countries are written instead, in turn.
COUNTRY_ABBREVIATIONS = {"United States": ("U.S.", "USA"), "United Kingdom": ("UK", "U.K.")}


def _abbreviated_countries(pairs):
    """``pairs`` whose English names the United States or the United Kingdom, with the name abbreviated."""
    made = []
    for en, es in pairs:
        found = re.search(r"\bthe (United States|United Kingdom)\b", en)
        if found:
            written = COUNTRY_ABBREVIATIONS[found[1]][len(made) % 2]
            made.append((en.replace(found[1], written).replace("..", "."), es))  # "the U.S." ends a sentence once
    return made


def _held_out_sets(pairs):
    """``(ampersand, units, ordinals, times, countries)`` made from ``pairs`` (see above)."""
    ampersand = [
        (re.sub(r"(?<=\w) and (?=\w)", " & ", en), es) for en, es in pairs if len(re.findall(r"\w and \w", en)) == 1
    ]
    units = []
    for en, es in pairs:
        written = en
        for spelled, abbreviation in ABBREVIATED:
            written = re.sub(spelled, abbreviation, written)
        if written != en:
            units.append((written, es))
    ordinals = [(_in_figures(en), es) for en, es in pairs if _in_figures(en) != en]
    times = [(CLOCK.sub(lambda m: f"{m[1]}{m[2]}m{'' if m[3] is None else '.'}", en), es) for en, es in pairs]
    times = [(en, es) for (en, es), (original, _) in zip(times, pairs) if en != original]
    return ampersand, units, ordinals, times, _abbreviated_countries(pairs)


def main(argv=None):
    args, pairs, translator = held_out.start(__doc__, argv)
    from transformer_tf import symbols

    written = held_out.written_pairs(WRITTEN)
    ampersand, units, ordinals, times, countries = _held_out_sets(pairs)
    sets = {
        "held-out &": ampersand,
        "held-out units": units,
        "held-out ordinals": ordinals,
        "held-out times": times,
        "written dates": held_out.written_pairs(DATES),
        "held-out countries": countries,
        "written": written,
    }
    print(f"{args.engine}, greedy; a row per set and way")
    outputs = held_out.rewrite_rows(translator.translate, symbols, "spelled_out", sets, "spelled out")
    held_out.print_examples(sets, outputs, "spelled out", count=5)


if __name__ == "__main__":
    main()
