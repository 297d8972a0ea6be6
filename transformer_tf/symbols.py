"""Symbols and unit abbreviations that the corpus spells out go to the model spelled out.

The corpus writes "20 euros", "Tom and Mary", "10 kilometers", "30 degrees"; it holds "€" twice,
"&" never, "km" never. The shipped model made "It costs €20." "Cuesta 20 20 .", "Tom & Mary are
here." "Tom 9 Mary está aquí.", "He ran 10 km." "Él corrió 10 k.m." and "The speed is 60 mph."
"La velocidad está de 60 de p."; it translates the words: "Cuesta 20 euros.", "Tom y Mary están
aquí.", "Él corrió 10 kilómetros.", "La velocidad tiene 60 millas por hora.". :func:`spelled_out`
rewrites the English before the model, with no put-back: the Spanish words are the translation.

Spelled out (:data:`UNITS`): ``&`` between words; a currency sign before or after a number (€, £,
¥); a unit after a number: °C, °F, °, km/h, km, kg, m, lb(s), mph, mi, ft, min(s), sec(s), hr(s)
("in 5 min" gave "en 5 minera"); a time with am or pm in any spelling as the corpus writes it
("9am", "10 PM" → "9 a.m.", "10 p.m.": "a las 10 p.m.", where "Call me at 10pm." gave "Llámame a los
10pm."); an ordinal in figures up to 10th (:data:`ORDINALS`: "the 1st floor" → "the first floor"),
and a day of a month without its ordinal's ending ("May 1st" → "May 1", which the model makes "1 de
mayo"); a date in the corpus's order and commas (``_DAY_FIRST``: "5 June 2023" → "June 5, 2023",
"Monday, June 5, 2023" → "Monday June 5, 2023", "in March 2020" → "in March of 2020"); the
abbreviations of the United States and the United Kingdom (:data:`COUNTRIES`: "She lives in the UK."
gave "Ella vive en el K.", "the U.K." "los Estados Unidos"; "the United Kingdom" gives "Reino
Unido"). Left as typed: the metric units whose names the model garbles too ("30 centimeters" → "30
centimetores", "200 grams" → "200 gramaticales": cm, mm, g, ml, l), ``$`` and ``%`` (the model knows
them), and any sign without a number next to it.
"""

import re

#: A number as written: digits, with thousands separators or a decimal part.
_NUMBER = r"\d+(?:[.,]\d+)*"

#: ``{symbol: (plural, singular)}``: what each unit after a number is spelled as ("1" takes the singular).
UNITS = {
    "°C": ("degrees Celsius", "degree Celsius"),
    "°F": ("degrees Fahrenheit", "degree Fahrenheit"),
    "°": ("degrees", "degree"),
    "km/h": ("kilometers per hour", "kilometer per hour"),
    "km": ("kilometers", "kilometer"),
    "kg": ("kilos", "kilo"),
    "m": ("meters", "meter"),
    "lbs": ("pounds", "pound"),
    "lb": ("pounds", "pound"),
    "mph": ("miles per hour", "mile per hour"),
    "mi": ("miles", "mile"),
    "ft": ("feet", "foot"),
    "min": ("minutes", "minute"),
    "mins": ("minutes", "minute"),
    "sec": ("seconds", "second"),
    "secs": ("seconds", "second"),
    "hr": ("hours", "hour"),
    "hrs": ("hours", "hour"),
}
#: ``{sign: (plural, singular)}``: a currency sign, before the number or after it.
CURRENCIES = {"€": ("euros", "euro"), "£": ("pounds", "pound"), "¥": ("yen", "yen")}

_UNIT = re.compile(rf"(?<![\w.,])({_NUMBER})\s?({'|'.join(map(re.escape, UNITS))})(?![\w°/])")
_SIGN = "|".join(map(re.escape, CURRENCIES))
_CURRENCY = re.compile(rf"(?:({_SIGN})\s?({_NUMBER})|(?<![\w.,])({_NUMBER})\s?({_SIGN}))(?![\w])")
#: A time of day with am or pm in any spelling ("9am", "10 PM", "3:30 pm"): the corpus writes "9 a.m.".
_CLOCK = re.compile(r"(?<![\w.,:])(1[0-2]|0?[1-9])(:[0-5]\d)?\s?([aApP])\.?[mM]\b\.?")
_AMPERSAND = re.compile(r"(?<=\w)\s+&\s+(?=\w)")
#: ``{abbreviation: name}``: the countries the corpus names in full (US, which the model knows, stays).
COUNTRIES = {
    "U.S.A.": "United States",
    "U.S.": "United States",
    "USA": "United States",
    "U.K.": "United Kingdom",
    "UK": "United Kingdom",
}
_COUNTRY = re.compile(r"(?<![\w.])(?:(U\.S\.(?:A\.)?|U\.K\.)(?![\w-])|(USA|UK)\b(?!-))(?P<end>[\"”'’)\]]*\s*$)?")
#: Ordinals in figures that the corpus writes in words ("the 1st floor": "el 1st piso" before).
ORDINALS = dict(
    enumerate(("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"), 1)
)
_MONTH = "January|February|March|April|May|June|July|August|September|October|November|December"
#: A day of a month with an ordinal's ending ("May 1st", "the 10th of June"): the corpus writes "May 1".
_DAY = re.compile(rf"\b(?:({_MONTH}) (\d{{1,2}})(?:st|nd|rd|th)\b|(\d{{1,2}})(?:st|nd|rd|th)( (?:of )?(?:{_MONTH}))\b)")
#: A date written day first ("5 June 2023", "5 June"), a weekday before a dated year with a comma
#: ("Monday, June 5, 2023"), a day and year without the comma ("June 5 2023"), a month and year ("in
#: March 2020"): the model wrote "5023", "el lunes, junio de 2023", "a marzo 2020"; the corpus writes
#: "June 5, 2023", "in March of 2020", and the model makes "Monday June 5, 2023" "el lunes 5 de junio de 2023".
_DAY_FIRST = re.compile(rf"(?<![\w,.])(\d{{1,2}}) ({_MONTH})(?:,? (\d{{4}}))?\b")
_WEEKDAY = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
_WEEKDAY_COMMA = re.compile(rf"\b({_WEEKDAY}), (?=(?:{_MONTH}) \d{{1,2}},? \d{{4}}\b)")  # with a year only
_NO_YEAR_COMMA = re.compile(rf"\b({_MONTH}) (\d{{1,2}}) (\d{{4}})\b")
_MONTH_YEAR = re.compile(rf"\bin ({_MONTH}),? (\d{{4}})\b")
_ORDINAL = re.compile(r"(?<![\w.,])(10|[1-9])(?:st|nd|rd|th)\b")


def _spelled(number, forms):
    """``number`` and the plural or singular of ``forms``."""
    return f"{number} {forms[1] if number == '1' else forms[0]}"


def _country(match):
    """The name of a :data:`COUNTRIES` abbreviation; one whose full stop ended the sentence gets it back."""
    name = COUNTRIES[match[1] or match[2]]
    end = match["end"]
    return name if end is None else f"{name}.{end}" if match[1] else f"{name}{end}"


def spelled_out(sentence):
    """``sentence`` with its :data:`UNITS`, :data:`CURRENCIES`, :data:`COUNTRIES` and ``&`` in words.

    ``"It costs €20 & it weighs 3 kg."`` → ``"It costs 20 euros and it weighs 3 kilos."``; a sentence
    without any is returned as it is (the common case).
    """
    if sentence.isascii() and "&" not in sentence and "U" not in sentence and not any(c.isdigit() for c in sentence):
        return sentence
    sentence = _AMPERSAND.sub(" and ", sentence)
    sentence = _COUNTRY.sub(_country, sentence)
    sentence = _CURRENCY.sub(lambda m: _spelled(m[2] or m[3], CURRENCIES[m[1] or m[4]]), sentence)
    sentence = _DAY.sub(lambda m: f"{m[1]} {m[2]}" if m[1] else f"{m[3]}{m[4]}", sentence)
    sentence = _ORDINAL.sub(lambda m: ORDINALS[int(m[1])], sentence)
    sentence = _DAY_FIRST.sub(lambda m: f"{m[2]} {m[1]}" + (f", {m[3]}" if m[3] else ""), sentence)
    sentence = _NO_YEAR_COMMA.sub(r"\1 \2, \3", _WEEKDAY_COMMA.sub(r"\1 ", sentence))
    sentence = _MONTH_YEAR.sub(r"in \1 of \2", sentence)
    sentence = _CLOCK.sub(lambda m: f"{m[1]}{m[2] or ''} {m[3].lower()}.m.", sentence)
    return _UNIT.sub(lambda m: _spelled(m[1], UNITS[m[2]]), sentence)
