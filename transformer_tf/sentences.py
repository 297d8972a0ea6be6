"""Sentence splitting: a text of several English sentences is translated sentence by sentence."""

import functools
import re
import unicodedata

from transformer_tf.pictographs import leading_pictographs

# A sentence end followed by more text: only then is pysbd worth its time.
_INNER_BOUNDARY = re.compile(r"[.!?…][\"'”’)\]]*\s+\S")

# pysbd's time grows with the square of its input's length (4,000 short sentences in one text:
# 2 s; a 1 MB line: ~20 min), so a long text is segmented in pieces of at most this many
# characters, and the whole takes time in proportion to its length.
PIECE = 2_000


#: A character that shows something, in an ASCII text (else: white space or a control character).
_VISIBLE_ASCII = re.compile("[!-~]")
#: The Unicode categories of characters that show nothing and that ``str.strip`` keeps: control (Cc) and
#: format (Cf: zero-width space U+200B, word joiner U+2060, byte order mark U+FEFF, soft hyphen U+00AD …).
INVISIBLE = ("Cc", "Cf")
#: The other characters that show nothing: Unicode's default-ignorable ones outside Cf (the combining
#: grapheme joiner, the Hangul and Khmer fillers, the Mongolian and the other variation selectors) and
#: the blank braille pattern U+2800. The shipped model made each alone into a number ("9000.").
IGNORABLE = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u2800\u3164\uffa0"
    + "".join(map(chr, [*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)]))
)


def is_blank(text):
    """Whether ``text`` holds nothing to translate: only white space, :data:`INVISIBLE` and :data:`IGNORABLE`
    characters.

    ``str.strip`` keeps the invisible ones, and the tokenizer drops them (U+200B → no piece) or spells
    them as byte pieces (U+2060 → 3), from which a model makes a translation up. Cheap for a text
    that is not blank: the search stops at its first visible character."""
    if text.isascii():
        return _VISIBLE_ASCII.search(text) is None
    return all(c.isspace() or c in IGNORABLE or unicodedata.category(c) in INVISIBLE for c in text)


@functools.lru_cache(maxsize=1)
def _segmenter():
    import pysbd  # rule-based sentence boundary detection (abbreviations, decimals, ...)

    return pysbd.Segmenter(language="en", clean=False)


def split_sentences(text):
    """The sentences of an English text, with pysbd (``"Dr. Smith came. He left."`` →
    two sentences; ``"It costs $3.50."`` → one). A text without an inner sentence end is
    returned whole (the common case, and no pysbd call); blank text gives ``[]``, and a blank
    "sentence" (:func:`is_blank`: ``"Hi. \\u2060"``'s second) is left out, not made up by a model.

    A text longer than :data:`PIECE` characters is segmented a piece at a time; each piece's
    last sentence is segmented again with what follows it, so the pieces give the sentences
    the whole text would. A "sentence" longer than half a piece is cut at the piece's end
    (the model reads only its start anyway, and says so: :meth:`Translator.encode_sources`).
    """
    text = text.strip()
    if is_blank(text):
        return []
    if not _INNER_BOUNDARY.search(text):
        return [text]
    found = []
    while len(text) > PIECE:
        piece = _piece(text)
        segments = _segmenter().segment(piece)
        last = segments[-1] if len(segments) > 1 and "".join(segments) == piece else ""
        if len(last) > PIECE // 2:
            last = ""  # keep the work per character bounded: at least half a piece is used up
        found += segments[:-1] if last else segments
        text = text[len(piece) - len(last) :]
    found += _segmenter().segment(text)
    return _pictographs_to_the_sentence_before([s.strip() for s in found if not is_blank(s)])


def _pictographs_to_the_sentence_before(sentences):
    """``sentences`` with the emoji each starts with moved to the end of the one before
    (:func:`~transformer_tf.pictographs.leading_pictographs`): "Great! 🎉 See you." is "Great! 🎉" and
    "See you.", not "Great!" and "🎉 See you."."""
    joined = []
    for sentence in sentences:
        run, rest = leading_pictographs(sentence) if joined else ("", sentence)
        if run:
            joined[-1] += " " + run
        if rest:
            joined.append(rest)
    return joined


def _piece(text):
    """The start of ``text``, at most :data:`PIECE` characters, ending after a space where one is."""
    cut = max(text.rfind(" ", 0, PIECE), text.rfind("\n", 0, PIECE)) + 1
    return text[: cut if cut > PIECE // 2 else PIECE]
