"""Dashes, brackets and ellipses, which the corpus lacks, go to the model as the commas and full
stops it knows.

Of the corpus's 119 k English sentences one holds "...", none a bracket or a dash between words,
and the shipped model garbled them: "Tom - my brother - is here." → "Tom tiene 30 años de
aquí.", "Tom (my brother) is here." → "Tom 9mymy está aquí.", "Wait..." → "Espera a Ya.". Written
with commas and a full stop it translates them well: "Tom, mi hermano, está aquí.", "Espera.".
So :func:`take_out` rewrites a sentence before the model:

- a dash between words (`` - ``, ``–``, ``—``, with or without spaces for the long ones) → a comma;
- a bracket pair around words → commas around them ("Tom (my brother) is here." → "Tom, my
  brother, is here."; "I like cats (and dogs)." → "I like cats, and dogs.");
- an ellipsis inside the sentence → a comma; at its end → a full stop, and :func:`put_back` gives
  the translation the ellipsis back in place of its final punctuation ("Espera...").

The Spanish then has commas where the English had dashes or brackets: the words are translated,
the typography is the corpus's.
"""

import re

#: A dash between words: a hyphen with spaces around it, an en or em dash with or without.
_DASH = re.compile(r"(?<=\w)(?:\s+[-–—]+\s+|\s*[–—]+\s*)(?=\w)")
#: A bracket pair around words (no bracket inside), with the space before it.
_BRACKETS = re.compile(r"\s*\(([^()]*\w[^()]*)\)")
#: An ellipsis: three full stops or the one character.
_ELLIPSIS = re.compile(r"\.\.\.+|…")
_FINAL_ELLIPSIS = re.compile(r"(?<=\w)\s*(\.\.\.+|…)\s*$")
#: Commas the rewrites put next to other punctuation: ", ," and ", ." become one mark.
_DOUBLED = re.compile(r",\s*(?=[,.!?;:])")


def take_out(sentence):
    """``(text for the model, ellipsis)``: the sentence with its dashes, brackets and ellipses
    rewritten (see above), and the ellipsis it ended with (``"..."``, ``"…"``; None for none).

    ``"Tom (my brother) is here..."`` → ``("Tom, my brother, is here.", "...")``; a sentence with
    none of them is returned as it is (the common case).
    """
    if not any(mark in sentence for mark in ("-", "–", "—", "(", "...", "…")):
        return sentence, None
    text, ending = sentence, None
    final = _FINAL_ELLIPSIS.search(text)
    if final:
        ending, text = final.group(1), text[: final.start()] + "."
    text = _DASH.sub(", ", text)
    text = _BRACKETS.sub(lambda m: ", " + m.group(1).strip() + ",", text)
    text = _ELLIPSIS.sub(",", text)
    text = _DOUBLED.sub("", text)
    return text, ending


def put_back(translation, ending):
    """The model's ``translation`` with the sentence's final ellipsis in place of its final full
    stop (``"Espera."`` → ``"Espera..."``), or before its closing ? or ! (``"¿Estás ahí...?"``, as
    Spanish writes it); as it is where the sentence ended otherwise."""
    if not ending:
        return translation
    return re.sub(r"\.*\s*([?!]*)\s*$", lambda m: ending + m.group(1), translation, count=1)
