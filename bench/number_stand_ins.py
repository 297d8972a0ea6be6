"""Numbers with separators through the model as they are, or as stand-ins: which keeps them?

``transformer_tf.numerals`` sends a number with a thousands separator, a decimal point or
hyphens ("400,000", "25.99", "555-1234") to the model as a two-digit stand-in and puts the number back in place of
the stand-in in the translation (thousands with points, "400.000"; decimals as written). This
compares the shipped model's translations with that pass and without it (each sentence as it
is) on held-out sentences:

- ``corpus``: the pairs of the model's validation and test splits whose English holds such a
  number (few: the corpus is everyday sentences);
- ``challenge``: the same from ``bench/challenge_en_es.tsv``;
- ``made``: held-out pairs whose two sides hold the same whole number once (``I paid 30 dollars``
  … ``30 dólares``), that number written on both sides with a separator, a decimal part, as a
  range or with a slash (``30,250``, ``30.5``, ``30-34``, ``30/34`` in turn; seeded; the Spanish
  side ``30.250``, ``30.5``, ``30-34``, ``30/34``), as a proxy for sentences the corpus lacks;
- ``made, signed``: the same pairs, the number written with a minus sign (``-30``) or as a telephone
  number after a plus sign (``+1 202 555 0130``) in turn, on both sides.

For each set and way: the share of sentences whose every such number comes back whole (as
written, or with points for its thousands); how many sentences had a stand-in that did not come
back once (each then translated as it was); sacreBLEU BLEU/chrF against the references.

    python bench/number_stand_ins.py [--checkpoint-dir checkpoints/en_es] [--data PATH] [--engine ctranslate2]
"""

import random
import re
from pathlib import Path

import held_out

CHALLENGE = Path(__file__).resolve().parent / "challenge_en_es.tsv"
_WHOLE = re.compile(r"(?<![\w.,:])\d{2,3}(?![\w]|[.,:]\d)")


def _made(pairs, rng, spanish_form, signed=False):
    """Pairs whose sides share one whole number once, that number given a separator or decimals (with
    ``signed``: a minus sign, or a plus sign and a telephone number's groups)."""
    made = []
    for english, spanish in pairs:
        found_en, found_es = _WHOLE.findall(english), _WHOLE.findall(spanish)
        if len(found_en) != 1 or found_es != found_en:
            continue
        n = found_en[0]
        step = rng.randint(1, 9)
        forms = (f"{n},{rng.randint(0, 999):03d}", f"{n}.{step}", f"{n}-{int(n) + step}", f"{n}/{int(n) + step}")
        forms = (f"-{n}", f"+1 202 555 0{n[-3:]:0>3}") if signed else forms
        number = forms[len(made) % len(forms)]
        made.append((_WHOLE.sub(number, english, count=1), _WHOLE.sub(spanish_form(number), spanish, count=1)))
    return made


def _kept(english, spanish, numerals):
    """Whether every separated number of ``english`` stands whole in ``spanish``, as written or in
    its Spanish form."""
    for number in numerals.SEPARATED.findall(english):
        forms = "|".join(re.escape(form) for form in {number, numerals.spanish(number)})
        if not re.search(rf"(?<![\d.,])(?:{forms})(?![\d]|[.,]\d)", spanish):
            return False
    return True


def main(argv=None):
    args, pairs, translator = held_out.start(__doc__, argv)
    from transformer_tf import numerals
    from transformer_tf.evaluate import read_labelled_pairs

    challenge, _ = read_labelled_pairs(CHALLENGE)
    sets = {
        "corpus": [p for p in pairs if numerals.SEPARATED.search(p[0])],
        "challenge": [p for p in challenge if numerals.SEPARATED.search(p[0])],
        "made": _made(pairs, random.Random(0), numerals.spanish),
        "made, signed": _made(pairs, random.Random(0), numerals.spanish, signed=True),
    }
    print(f"{args.engine}, greedy; a row per set and way")
    outputs = held_out.pass_rows(
        translator.translate_sentences, numerals, sets, lambda en, es: _kept(en, es, numerals), "numbers kept whole"
    )
    print("\nexamples (corpus, then made), as typed → with stand-ins:")
    for name, count in (("corpus", None), ("made", 6)):
        for i, (en, _) in enumerate(sets[name][:count]):
            print(f"  {en}\n    {outputs[name, 'as typed'][i]}\n    {outputs[name, 'stand-ins'][i]}")


if __name__ == "__main__":
    main()
