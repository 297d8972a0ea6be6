"""A date in May goes round the model as a date in June, and comes back in May.

Before a day, "May" is the verb to the shipped model: the corpus holds one "May" with a day in 119 k
pairs and thousands of "may" ("You may go."), so "The meeting is on May 10." came out "La reunión
está a lo mejor de 10." and "I was born on May 5." "Nací el 5.". June has no other reading, and
the model writes it "junio" where it writes any month ("The meeting is on June 10." → "La reunión
está el 10 de junio."). So :func:`take_out` writes "June" for each "May" before a day (after
:mod:`~transformer_tf.symbols` has put the day after the month: "10 May" → "May 10") and :func:`put_back`
writes "mayo" for "junio":

    The meeting is on May 10.  →  … on June 10.  →  La reunión está el 10 de junio.  →  … el 10 de mayo.

A sentence that names June too is left as typed (which "junio" is whose?); where "junio" does not come
back as many times as it went, :func:`put_back` says so (None) and the caller translates the sentence
as it was. The model reads other dates no better than it writes June's (no article before a bare
date: "My birthday is June 7." → "Mi cumpleaños es junio 7."). ``bench/dates_pass.py`` measures both
ways.
"""

import re

#: "May" before a day of the month (1-31; not a time, "May 10:30", nor a larger number); "may" too, as
#: :mod:`~transformer_tf.casing` writes a sentence typed in capitals ("ON MAY 10" → "on may 10").
_MAY_DAY = re.compile(r"\b(?:May|may)(?= (?:[12]?\d|3[01])\b(?![:.,]\d))")
_JUNE = re.compile(r"\bjun(?:e|io)\b", re.IGNORECASE)
_JUNIO = re.compile(r"\b([Jj])unio\b")


def take_out(sentence):
    """``(text, stand-ins)``: ``sentence`` with "June" for each "May" before a day, and how many there
    were (0: the sentence as it is, also where it names June)."""
    if "ay " not in sentence or _JUNE.search(sentence):  # the common case: no May
        return sentence, 0
    return _MAY_DAY.subn("June", sentence)


def put_back(translation, stand_ins):
    """The model's ``translation`` with "mayo" for each "junio" (capitalised as it was), or None where
    "junio" is not in it ``stand_ins`` times (the count :func:`take_out` gave)."""
    if not stand_ins:
        return translation
    if len(_JUNIO.findall(translation)) != stand_ins:
        return None
    return _JUNIO.sub(lambda match: "Mayo" if match[1] == "J" else "mayo", translation)
