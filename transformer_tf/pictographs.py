"""Emoji carried around the model: taken out of a sentence (:func:`take_out`), put back into its
translation (:func:`put_back`).

The shipped tokenizers spell an emoji in byte pieces (😀 → ``<0xF0> <0x9F> <0x98> <0x80>``) that
no training sentence held, and the model makes digits and words up from them ("Hello 😀" →
"Hello 9 se hizo ir de loal."). So the model reads the sentence without them, and each comes back
at its place in the translation:

    I love pizza 🍕 and coffee ☕.  →  I love pizza and coffee.  →  Me encanta la pizza y el café.
                                                                →  Me encanta la pizza 🍕 y el café ☕.

**What is a pictograph.** A grapheme cluster (what a reader sees as one character, Unicode
UAX #29: ``regex``'s ``\\X``) holding an ``Extended_Pictographic`` character, a regional indicator
(the halves of a flag), an emoji modifier (a skin tone) or the keycap mark U+20E3. The cluster
keeps a ZWJ sequence (👨‍👩‍👧), a skin tone (👋🏽), a flag (🇫🇷, 🏴 and its tags), a keycap (1️⃣)
and a variation selector (☺️) in one piece. ``regex`` rather than the ``emoji`` package's table
of sequences: both rules are Unicode's own, so a sequence no table lists yet (a new ZWJ
combination, an emoji of a later Unicode version: ``Extended_Pictographic`` reserves their code
points) is still one pictograph; and ``regex`` is installed already (sacreBLEU's dependency).
© ® ™ are ``Extended_Pictographic`` too, and carried the same way (the tokenizer spells © and ®
in bytes as well); symbols that are not pictographs (★ → •) are left to the model.

**Where they go back.** Pictographs next to each other (spaces between them kept) travel as one
:class:`Run`, placed by where it stood among the sentence's words:

- before the first word: at the start of the translation ("😀 Hello." → "😀 Hola.");
- after the last word: at the end, before the translation's final punctuation where the source
  had it before its own ("coffee ☕." → "café ☕."), after it otherwise ("Great job! 🎉" →
  "¡Buen trabajo! 🎉", "Hello 😀" → "Hola 😀");
- between words: after the same share of the translation's words (3 of 5 English words → 4 of
  7 Spanish ones, the nearest), never at either end. Measured on a stand-in for an emoji whose
  place is known, a name that the reference copies (``bench/pictograph_position.py``: an emoji
  right after the name should come right after it in the Spanish), it is the best of the rules
  tried: right for 50.2% of 309 names of the validation split, 0.60 words off on average, against
  48.5% for the mean of it and "as many words from the end", 48.2% for that alone, 41.4% for "as
  many from the start". Before a name, "from the end" and the mean do better (59.1% of 569
  against 55.4%), but an emoji mostly follows the word it goes with ("pizza 🍕").

**Emoticons** (:data:`EMOTICON`: ``:)``, ``;-)``, ``:D``, ``:P``, ``:(``, ``<3``, ``^^``, ``xD``) are
carried the same way, where they stand apart from the words (white space before, white space, the
end or final punctuation after): the tokenizer reads them as punctuation and the model made words
up from them ("Don't worry, be happy :)" → "No te preocupes, est feliz a las :: nuncaTienes.", "I
love you <3" → "Te amo 33 6."). A run may mix them with emoji.

Brackets that hold nothing but a run go with it ("pizza (🍕)?" → "pizza?": the model made "99"
up for an empty "()"). Each side of a run has a space in the translation where it had one in the
source ("café☕." stays glued). A sentence of nothing but pictographs (and punctuation) is not translated: it comes back
as it is. Text without a pictograph goes through untouched (``take_out`` returns it as it is, and
``put_back`` the translation).
"""

import dataclasses
import functools
import re
import types

#: An emoticon standing apart from the words: eyes ``: ; =``, an optional nose, then a mouth (``:)``,
#: ``;-)``, ``:D``, ``:P``, ``:(``, ``:'(``, ``:/``, ``:*``), a heart ``<3``, or ``^^``, ``xD``, ``-_-``,
#: ``T_T``, ``o_O``; with white space before it and white space, the end or final punctuation after it
#: (not ``http://``, ``Note:D``, ``(1-8)``).
EMOTICON = re.compile(
    r"(?<!\S)(?:[:;=]['-o^]?[)(\][DPpO3/\\|*]+|<3+|\^_*\^|[xX]D+|-_-|T_T|[oO]_[oO])(?=[.!?,]*(?:\s|$))"
)


@functools.cache
def _patterns():
    """The module's patterns, compiled on first use: importing ``regex`` and compiling its Unicode
    classes takes 10–25 ms, which a ``translate`` of ASCII text only (most of it) never pays:
    :func:`take_out` answers an ASCII sentence without them."""
    import regex

    return types.SimpleNamespace(
        # a character that makes its grapheme cluster a pictograph (the module's definition)
        pictographic=regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}\p{Emoji_Modifier}\u20E3]"),
        cluster=regex.compile(r"\X"),
        word=regex.compile(r"\w"),
        # where the text around a removed run needs no space: before closing, after opening punctuation
        closing=regex.compile(r"[\p{Pe}\p{Pf}.,;:!?…%]"),
        opening=regex.compile(r"[\p{Ps}\p{Pi}¿¡]$"),
        # a translation's final punctuation, which a run that stood before the source's goes in front of
        final_punctuation=regex.compile(r"[.!?…]+$"),
    )


#: What every emoticon holds: a sentence without it has none (:func:`take_out`'s quick answer).
_QUICK = re.compile(r"[:;=^<_]")  # and "xD", "XD" (a pattern of the three takes twice as long)

#: What a user who asks for the attention of a sentence of only pictographs is told (plot-attention, serve).
ONLY_PICTOGRAPHS = (
    "the sentence is only emoji: the model reads nothing of it (a translation gives it back as it is), "
    "so there is no attention to show; give some English text."
)


@dataclasses.dataclass(frozen=True)
class Run:
    """Pictographs next to each other in the source, as written (the spaces between them kept).

    Attributes:
        text: the run, e.g. ``"🍕"`` or ``"😀 😀"``.
        place: ``"start"`` (before the first word), ``"inner"``, ``"before_end"`` (after the last word,
            before the final punctuation) or ``"end"`` (after the last word and the punctuation).
        before, after: the sentence's words before it and after it (for ``"inner"`` both ≥ 1).
        space_before, space_after: whether the source had white space on that side.
    """

    text: str
    place: str
    before: int = 0
    after: int = 0
    space_before: bool = True
    space_after: bool = True


@dataclasses.dataclass(frozen=True)
class Taken:
    """:func:`take_out`'s answer: the ``source`` sentence, the ``text`` the model reads (``""``: nothing
    to translate) and the ``runs`` taken out of it, in order (``()``: none, ``text`` is ``source``)."""

    source: str
    text: str
    runs: tuple = ()


def _may_hold_emoticon(sentence):
    return _QUICK.search(sentence) is not None or "xD" in sentence or "XD" in sentence


def is_pictograph(cluster):
    """Whether the grapheme cluster ``cluster`` is a pictograph (the module's definition)."""
    return _patterns().pictographic.search(cluster) is not None


#: Brackets that a run may fill alone: taken out with it, or the model reads "pizza ()" and makes a
#: number up for the empty pair ("pizza (🍕)" → "pizza 99").
_BRACKETS = {"(": ")", "[": "]", "{": "}"}


def _run_spans(sentence):
    """``[(start, end)]`` of the pictograph runs of ``sentence``: pictograph clusters and emoticons with
    only white space between them, with the brackets around them where a run fills a pair alone (``(🍕)``)."""
    clusters = [] if sentence.isascii() else _patterns().cluster.finditer(sentence)
    found = [c.span() for c in clusters if is_pictograph(c.group())]
    spans = []
    for start, end in sorted(found + [m.span() for m in EMOTICON.finditer(sentence)]):
        if spans and not sentence[spans[-1][1] : start].strip():
            start = spans.pop()[0]
        spans.append((start, end))
    return [_with_brackets(sentence, start, end) for start, end in spans]


def _with_brackets(sentence, start, end):
    """The span ``start:end`` of ``sentence``, widened to the bracket pair around it when the pair
    holds nothing else (white space aside)."""
    before = len(sentence[:start].rstrip())
    after = len(sentence) - len(sentence[end:].lstrip())
    if before and after < len(sentence) and _BRACKETS.get(sentence[before - 1]) == sentence[after]:
        return before - 1, after + 1
    return start, end


def leading_pictographs(text):
    """``(pictographs, rest)``: the run of pictographs ``text`` starts with (``""``: none) and the rest, both
    stripped; all of ``text`` counts as the run when the rest holds no word (``"🎉!"``).

    :func:`~transformer_tf.sentences.split_sentences` gives such a run to the sentence before: pysbd
    starts a sentence after "Great!" in "Great! 🎉 See you.", but the 🎉 belongs to "Great!"."""
    text = text.strip()
    if text.isascii() or not is_pictograph(_patterns().cluster.match(text).group()):
        return "", text
    end = _run_spans(text)[0][1]
    if not _words(text[end:]):
        return text, ""
    return text[:end], text[end:].strip()


def _words(text):
    """How many words (white-space separated, holding a letter or digit) ``text`` has."""
    return sum(1 for token in text.split() if _patterns().word.search(token))


def _joined(left, right):
    """``left`` and ``right`` (texts around a removed run) with one space between them, none where either
    is empty or punctuation attaches (``"coffee" + "."``, ``"(" + "hi"``)."""
    left, right = left.rstrip(), right.lstrip()
    if not left or not right or _patterns().closing.match(right) or _patterns().opening.search(left):
        return left + right
    return f"{left} {right}"


def take_out(sentence):
    """The sentence the model reads, without its pictographs, and where each stood.

    Returns:
        :class:`Taken`: ``"I love pizza 🍕 and coffee ☕."`` → text ``"I love pizza and coffee."``, runs
        🍕 (inner, 3 words before it, 2 after) and ☕ (before the final punctuation); text ``""`` when only pictographs
        and punctuation remain. Without a pictograph (most sentences): ``Taken(sentence, sentence)``.
    """
    if (sentence.isascii() or _patterns().pictographic.search(sentence) is None) and not _may_hold_emoticon(sentence):
        return Taken(sentence, sentence)  # the common case, in a microsecond
    spans = _run_spans(sentence)
    text, offsets, last = "", [], 0
    for start, end in spans:
        text = _joined(text, sentence[last:start]).rstrip()
        offsets.append(len(text))
        last = end
    text = _joined(text, sentence[last:]).strip()
    total = _words(text)
    if not total:
        return Taken(sentence, "", tuple(Run(sentence[s:e], "start") for s, e in spans))
    runs = []
    for (start, end), offset in zip(spans, offsets, strict=True):
        before = _words(text[:offset])
        if not before:
            place = "start"
        elif before < total:
            place = "inner"
        else:
            place = "before_end" if text[offset:].strip() else "end"
        space_before = start > 0 and sentence[start - 1].isspace()
        space_after = end < len(sentence) and sentence[end].isspace()
        runs.append(Run(sentence[start:end], place, before, total - before, space_before, space_after))
    return Taken(sentence, text, tuple(runs))


def put_back(translation, taken):
    """``translation`` (of ``taken.text``) with ``taken``'s runs put back at their places (the module's
    rules); the source as it was when the model had nothing to read; ``translation`` itself when
    nothing was taken out.

    ``"Me encanta la pizza y el café."`` with the runs of ``"I love pizza 🍕 and coffee ☕."`` →
    ``"Me encanta la pizza 🍕 y el café ☕."``
    """
    if not taken.runs:
        return translation
    if not taken.text:
        return taken.source
    words = translation.split()
    final = _patterns().final_punctuation.search(words[-1]) if words else None
    if final and final.start() > 0:  # "café." → "café", "."
        words[-1:] = [words[-1][: final.start()], final.group()]
    elif not final:
        words.append("")  # no final punctuation: the runs before it go at the end
    # items: (text, space before, space after); a word has both; the final punctuation is glued on its left
    items = [(word, True, True) for word in words[:-1]] + [(words[-1], False, True)]
    inner = len(items) - 1  # the translation's words, without the final punctuation
    slots = {"start": 0, "before_end": inner, "end": len(items)}
    inserted = []
    for order, run in enumerate(taken.runs):
        if run.place == "inner":
            slot = min(max(int(run.before / (run.before + run.after) * inner + 0.5), 1), max(inner - 1, 1))
        else:
            slot = slots[run.place]
        inserted.append((slot, order, (run.text, run.space_before, run.space_after)))
    for slot, _, item in sorted(inserted, reverse=True):
        items.insert(slot, item)
    out, spaced = "", False
    for text, space_before, space_after in items:
        if text:
            out += (" " if out and space_before and spaced else "") + text
            spaced = space_after
    return out
