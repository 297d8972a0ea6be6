"""Titles before names go round the model as a first name it keeps, and come back in Spanish form,
with the article Spanish puts before them.

The corpus has almost no titles (one "Mr.", no "Mrs.", seven "Dr." in 119 k pairs), so the shipped
model copies them as part of a name or drops them: "Mr. Smith is here." → "Mr. Smith está aquí.",
"Dr. Jones will see you now." → "En este momento, Jones te va a ver.". Spanish writes the title in
its own form and, outside direct address, with the article: *el Sr. Smith*, *a la Sra. Brown* (the
personal *a*), *del Dr. Jones*, but *Gracias, Sr. Smith*.

So each title with its name goes to the model as a first name that the corpus's Spanish keeps
(:data:`~transformer_tf.stand_ins.NAMES`, and :data:`~transformer_tf.stand_ins.WOMEN` for Mrs., Ms.
and Miss, so that adjectives agree: "Mary está cansada"), and :func:`put_back` writes the Spanish
form where the name comes back:

    Do you know Mrs. Brown?  →  Do you know Mary?  →  ¿Conoces a Mary?  →  ¿Conoces a la Sra. Brown?
    Mr. Smith's car is red.  →  Tom's car is red.  →  El coche de Tom es rojo.  →  El coche del Sr. Smith es rojo.

**The article** (:func:`_spanish`): none where the English addresses the person (the title
and name stand after a comma or at the start, and before a comma or the sentence's end: "Thank
you, Mr. Smith.", "Mr. Smith, come in."); else *el* or *la*, capitalised at the start of the
sentence, and *a el*, *de el* contracted to *al*, *del*. The English says nothing of a doctor's or
professor's sex: Dr. and Prof. take the masculine forms, as Spanish style guides do for a title
of unknown holder.

Left as typed: a title without a capitalised name after it ("Thank you, doctor."), "Mr. and Mrs.
Smith" (one couple, which Spanish writes "los señores Smith"), and more titled people in one
sentence than there are free stand-ins. Where a stand-in does not come back exactly once,
:func:`put_back` says so (None) and the caller translates the sentence as it was.
``bench/titles_pass.py`` measures both ways.
"""

import re

from transformer_tf.stand_ins import WOMEN, free_names, name_pattern

#: English title (without its full stop) → (its Spanish form, the gender Spanish gives it). An
#: abbreviation stays one (Mr. → Sr.), a word stays a word (Mister → señor).
TITLES = {
    "Mr": ("Sr.", "m"),
    "Mrs": ("Sra.", "f"),
    "Ms": ("Sra.", "f"),
    "Dr": ("Dr.", "m"),
    "Prof": ("Prof.", "m"),
    "Mister": ("señor", "m"),
    "Miss": ("señorita", "f"),
    "Doctor": ("doctor", "m"),
    "Professor": ("profesor", "m"),
}
_ABBREVIATED = ("Mr", "Mrs", "Ms", "Dr", "Prof")
#: A name: one to three capitalised words ("Smith", "Martin Luther King", "O'Brien"; not "I").
_NAME = r"(?!I\b)[A-Z][A-Za-z]*(?:['’-][A-Z][A-Za-z]*)*"
#: A title: an abbreviation, with or without its full stop, or a word.
_TITLE = (
    rf"(?<![\w.])(?P<title>{'|'.join(_ABBREVIATED)})\.?(?= )"
    rf"|(?<![\w.])(?<!\bI )(?<!\b[Ww]e )(?<!\b[Yy]ou )(?<!\b[Tt]hey )(?<!\b[Ww]ill )"  # not the verb: "I Miss You"
    rf"(?P<word>{'|'.join(t for t in TITLES if t not in _ABBREVIATED)})(?= )"
)
_TITLED_NAME = re.compile(rf"(?:{_TITLE}) (?P<name>{_NAME}(?: {_NAME}){{0,2}})(?!\w)")
#: What every title starts with: a sentence without it is passed on at once (the common case).
_QUICK = re.compile("M[rsi]|Dr|Doc|Prof")
#: "Mr. and Mrs. Smith", "Mr & Mrs Smith": a couple, left as typed.
_COUPLE = re.compile(r"\bMr\.? (?:and|&) Mrs\b")
#: Before a vocative: the sentence's start (an opening quotation mark or ¡ ¿ allowed) or a comma.
_ADDRESS_BEFORE = re.compile(r"(?:^[\"“'‘¡¿]*|,\s*)$")
#: After a vocative: a comma, or the sentence's final punctuation.
_ADDRESS_AFTER = re.compile(r"^(?:,|[.!?…]+[\"”'’)]*\s*$)")
#: What a stand-in may come back as: the corpus's Spanish writes Mary as María in 777 of 4,772 pairs.
_FORMS = {"Mary": "Mar(?:y|ía)"}
#: The word before the stand-in in the Spanish: the preposition that contracts with *el*, or the
#: sentence's start.
_SPANISH_BEFORE = re.compile(r"(?:(?P<preposition>\b[aA]|\b[dD]e) |(?P<start>^[\"“«¡¿]*))$")


def take_out(sentence):
    """``sentence`` with each titled name replaced by a stand-in first name, and what each stands for.

    Returns:
        ``(text for the model, {stand_in: (Spanish title and name, gender, addressed)})``; the
        sentence itself and ``{}`` when it holds no titled name (the common case), a couple, or more
        of them than free stand-ins. ``"Is Mrs. Brown here?"`` → ``("Is Mary here?", {"Mary":
        ("Sra. Brown", "f", False)})``.
    """
    found = [] if _QUICK.search(sentence) is None else list(_TITLED_NAME.finditer(sentence))
    if not found or _COUPLE.search(sentence):
        return sentence, {}
    free = {"m": free_names(sentence), "f": free_names(sentence, WOMEN)}
    stand_ins, pieces, end = {}, [], 0
    for match in found:
        spanish_title, gender = TITLES[match["title"] or match["word"]]
        if not free[gender]:
            return sentence, {}
        name = free[gender].pop(0)
        addressed = bool(_ADDRESS_BEFORE.search(sentence[: match.start()])) and bool(
            _ADDRESS_AFTER.match(sentence[match.end() :])
        )
        stand_ins[name] = (f"{spanish_title} {match['name']}", gender, addressed)
        pieces += [sentence[end : match.start()], name]
        end = match.end()
    return "".join(pieces) + sentence[end:], stand_ins


def put_back(translation, stand_ins):
    """The model's ``translation`` with each stand-in name replaced by its titled name in Spanish form
    (:func:`_spanish`), or None where a name is not in it exactly once (the model dropped, repeated or
    changed it)."""
    for name, titled in stand_ins.items():
        found = list(name_pattern(_FORMS.get(name, name)).finditer(translation))
        if len(found) != 1:
            return None
        match = found[0]
        before, replacement = _spanish(translation[: match.start()], *titled)
        translation = before + replacement + translation[match.end() :]
    return translation


def _spanish(before, titled, gender, addressed):
    """``(before, titled name with its article)``: the Spanish for a titled name whose translation so far is
    ``before``. A preposition that ends ``before`` and contracts with *el* (*a*, *de*) moves into the
    result: ``("Conoces a ", "Sr. Smith", "m", False)`` → ``("Conoces ", "al Sr. Smith")``."""
    place = _SPANISH_BEFORE.search(before)
    at_start = place is not None and place["start"] is not None
    if addressed:
        return before, titled[0].upper() + titled[1:] if at_start else titled
    if place is not None and place["preposition"] and gender == "m":
        return before[: place.start()], f"{place['preposition']}l {titled}"  # a el → al, de el → del
    article = "el" if gender == "m" else "la"
    return before, f"{article.capitalize() if at_start else article} {titled}"
