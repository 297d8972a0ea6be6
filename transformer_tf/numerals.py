"""Numbers the model would garble go around it as stand-ins it copies, and come back whole.

The training data teaches the model to copy whole numbers and times (``augment.swap_numbers``:
"8:30", "1986", "30"); digits with a thousands separator, a decimal point or hyphens are rare in
the corpus, and the shipped model made "400,000 visitors" "400.00 visitan", "It costs $25.99."
"Cuesta 25 dólares.99." and "Please call me at 555-1234." "... a los 555 años". A translator
must never change a number. So each such number (:data:`SEPARATED`) goes to the model as a
two-digit stand-in that the sentence does not hold
("receives 48 visitors a year"), and the stand-in in its translation is replaced by the number
(:func:`spanish`: "recibe 400.000 visitantes al año"). Where a stand-in does not come back
exactly once, :func:`put_back` says so (None) and the caller translates the sentence as it was.
``bench/number_stand_ins.py`` measures both ways on held-out sentences.
"""

import re

from transformer_tf.stand_ins import replace_once

#: A number the model does not copy reliably: digit groups joined by hyphens or slashes (``555-1234``,
#: ``10-12``, ``3-1``, ``2023-10-05``: it wrote "61255147" for 612-555-0147; ``12/05/1990``: "12059190"),
#: digits with thousands separators (``1,499``, ``400,000``, ``2,737.50``) or with a decimal part
#: (``25.99``, ``2.5``), a number with a minus sign (``-5``, ``−10.5``: "It is -5 degrees." gave "Hace 5
#: grados."), a telephone number after a plus sign (``+1 202 555 0143``: "2122 5553"); not a part of a
#: longer dotted or comma-separated run (``192.168.1.1``, ``1,2,3``), nor of a word (``A4.5``, ``COVID-19``).
SEPARATED = re.compile(
    r"(?<![\w.,])(?:\d+(?:[-/]\d+)+|\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+"
    r"|(?<![\w.,+-])[-−](?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|(?<![\w+])\+\d{1,3}(?:[ -]?\d{2,4})+)(?![\w]|[.,]\d)"
)

_DIGIT = re.compile(r"\d")

#: Stand-ins: two-digit numbers (plural, like most quantities), tried in this order, each used
#: only where the sentence does not hold it already.
STAND_INS = ("48", "37", "59", "62", "73", "84", "26", "95", "17", "53")


def _whole_number(digits):
    """``digits`` standing alone as a number (not inside ``480`` or ``4.48``)."""
    return re.compile(rf"(?<![\d.,]){digits}(?![\d]|[.,]\d)")


def take_out(sentence):
    """``sentence`` with each :data:`SEPARATED` number replaced by a stand-in, and which is which.

    Returns:
        ``(text for the model, {stand_in: number as written})``; the sentence itself and ``{}``
        when it holds no such number (the common case), or more of them than free stand-ins.
        ``"He paid $1,499 for it."`` → ``("He paid $48 for it.", {"48": "1,499"})``.
    """
    if _DIGIT.search(sentence) is None:  # the common case: the pattern's search takes twice as long
        return sentence, {}
    numbers = SEPARATED.findall(sentence)
    free = [s for s in STAND_INS if not _whole_number(s).search(sentence)] if numbers else []
    if not numbers or len(numbers) > len(free):
        return sentence, {}
    stand_ins = dict(zip(free, numbers))  # one stand-in each time a number stands: each comes back once
    chosen = iter(stand_ins)
    return SEPARATED.sub(lambda _: next(chosen), sentence), stand_ins


def spanish(number):
    """``number`` as a Spanish text writes it, where that is certain: thousands separated by points
    (``400,000`` → ``400.000``, as the corpus writes them and the model learnt to); a number with a
    decimal part as written (Spain writes ``25,99``, Mexico ``25.99``, and ``3.11`` may be a version)."""
    return number if "." in number else number.replace(",", ".")


def put_back(translation, stand_ins):
    """The model's ``translation`` with each stand-in replaced by its number (:func:`spanish`), or
    None where a stand-in is not in it exactly once (the model dropped, repeated or changed it)."""
    return replace_once(translation, {_whole_number(s): spanish(number) for s, number in stand_ins.items()})
