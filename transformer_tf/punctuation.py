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

A question typed without its question mark (:func:`reads_as_question`: "Where is the station",
"Do you speak English", "You like him, don't you") gets one: the model wrote "Dónde está la
estación." and writes "¿Dónde está la estación?". A sentence typed without a full stop gets none
(the model's words are no better for it: ``bench/final_punctuation.py``).
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


_WH = frozenset("what where when why who whom whose which how".split())
_AUXILIARIES = frozenset(
    "am is are was were do does did can could will would shall should may might must have has had "
    "isn't aren't wasn't weren't don't doesn't didn't can't couldn't won't wouldn't shouldn't haven't "
    "hasn't hadn't mustn't".split()
)
_PRONOUNS = frozenset("i you he she it we they".split())
#: What may follow an auxiliary that starts a question ("Is there", "Do the kids"; "Is Tom": a name).
_SUBJECTS = _PRONOUNS | frozenset(
    "there this that these those the a an my your his her its our their anyone anybody someone somebody "
    "everyone everybody anything something".split()
)
_BE = frozenset("am is are was were".split())
#: The auxiliaries that start a question whatever follows them (others also start commands, "Do try",
#: or statements whose subject is left out, "Can't wait").
_ASKING = frozenset("is are was were does did".split())
#: An auxiliary's word that starts a command, not a question: "Do it", "Have a seat".
_COMMANDS = frozenset({("do", "it"), ("have", "a"), ("have", "an")})
#: Words before the question that do not change it ("And who might you be").
_LEADING = frozenset("and but so then well oh hey hi ok okay".split())
_WORDS = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*")


def reads_as_question(sentence):
    """Whether ``sentence`` (without its final punctuation) reads as a question: its first clause or
    its last (after a comma) starts with a question word (not "What a day", "How nice", "How tall you
    are", "What Tom says is true", "When I came, it rained") or with an auxiliary before its subject
    ("Is Tom here", "Don't you know"; not "Do it", "Can't wait"; "is", "are", "was", "were", "does" and
    "did" before any word: "Is breakfast included"), or it ends in a tag ("…, don't you", "…, right").

    On the validation split's 5,897 sentences that end in . ! or ?, typed without it: 99.5% of those
    it calls questions are, and it finds 98.4% of the questions (``bench/final_punctuation.py``)."""
    clauses = [sentence, sentence.rsplit(",", 1)[1]] if "," in sentence else [sentence]
    tail = _WORDS.findall(clauses[-1].lower())
    if tail in (["right"], ["ok"], ["okay"]) or (
        len(tail) == 2 and tail[0] in _AUXILIARIES and tail[1] in _PRONOUNS and tuple(tail) not in _COMMANDS
    ):
        return True  # a tag question
    return any(_starts_a_question(clause, "," in sentence) for clause in clauses)


def _starts_a_question(clause, has_comma):
    words = _WORDS.findall(clause)
    while words and words[0].lower() in _LEADING:
        words = words[1:]
    if len(words) < 2:
        return False
    first, second = words[0].lower(), words[1]
    stem = re.split(r"['’]", first)[0]
    if stem in _WH:
        if stem != first:  # "What's", "Where'll"
            return True
        if second.lower() in ("a", "an") or second.lower() in _PRONOUNS or second[0].isupper():
            return False  # "What a day", "What you say is true", "When Tom came, ..."
        if first == "when" and has_comma or first == "how" and len(words) == 2:
            return False  # "When life gives you lemons, ...", "How nice"
        return not (first == "how" and len(words) >= 4 and words[2].lower() in _PRONOUNS and words[-1] in _BE)
    if first not in _AUXILIARIES or (first, second.lower()) in _COMMANDS:
        return False
    # "Is there", "Do you", "Is Tom"; after "is", "does" … any word: no statement starts so ("Is breakfast included")
    return first in _ASKING or second.lower() in _SUBJECTS or second[0].isupper()


def take_out(sentence):
    """``(text for the model, ellipsis)``: the sentence with its dashes, brackets and ellipses
    rewritten (see above), and the ellipsis it ended with (``"..."``, ``"…"``; None for none).

    ``"Tom (my brother) is here..."`` → ``("Tom, my brother, is here.", "...")``; a sentence with
    none of them is returned as it is (the common case).
    """
    if sentence[-1:].isalpha() and reads_as_question(sentence):
        sentence += "?"  # typed without it
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
