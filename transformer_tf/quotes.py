"""Quoted speech goes around the model: each quotation is translated on its own, and the words
around it with a stand-in in its place.

Few training pairs hold quotation marks (311 of the corpus's 119 k), and the model loses its way
in them: '"Are your parents home?" "Only my dad."' came out '"¿Tos padres son a casa?"
"Mieltamente mi padre."' and '"Stop!" she shouted.' '"Suen muy sola que gritó!', while each part
alone it translates well. So a sentence with quotation marks (:data:`QUOTED`: ``"…"``, ``“…”``,
``«…»``, and ``'…'``, ``‘…’`` around speech) is taken apart (:func:`take_apart`):

- each quotation's words go to the model alone (``Only my dad.``), their trailing comma, colon or
  semicolon kept out and put back after the translation;
- the words around the quotations (the *frame*: ``Tom she shouted.``), where there are any, go with
  a name in place of each quotation (:data:`~transformer_tf.stand_ins.NAMES`, one the sentence does
  not hold), a name the model copies (a two-digit number, as the number pass uses, made "He said, 48." "Él dijo,
  48 años.");

and :meth:`Quoted.put_together` puts each translation between its marks, in the frame's translation
in place of its stand-in, or, without a frame, in place of the quotation in the sentence (its
spaces and dashes as written). Where a stand-in does not come back exactly once it says so (None)
and the caller translates the sentence as it was. Single quotes count only around speech that
starts with a capital and ends with its punctuation: ``'`` is also the apostrophe of ``don't``,
``Tom's`` and ``the dogs' bowls``. A sentence that mentions a word or a title in quotation marks
stays as it is (:func:`_spoken`). ``bench/quotes_pass.py`` measures both ways on held-out
sentences.
"""

import dataclasses
import re

from transformer_tf.stand_ins import free_names, name_pattern, replace_once

#: Single quotes around speech: the opening one not after a letter (``dogs' bowls``) and before a
#: capital, the closing one after the speech's punctuation and not before a letter; an apostrophe
#: between letters inside (``'I don't know,' he said.``). ``'Tis``, ``rock 'n' roll`` and a title
#: without punctuation (``'Big Day'``) are no quotation.
_SINGLE = r"(?<![\w{q}])({o})(?=[A-Z¿¡])((?:[^{q}]|(?<=\w){q}(?=\w))*?[.!?,;:…])({c})(?![\w{q}])"
#: A quotation: straight double quotes, curly double quotes or guillemets around at least one letter
#: or digit, or single quotes around speech (:data:`_SINGLE`); each alternative's marks are its first
#: and third group, the words its second.
QUOTED = re.compile(
    r'(")([^"]*\w[^"]*)(")|(“)([^“”]*\w[^“”]*)(”)|(«)([^«»]*\w[^«»]*)(»)|'
    + _SINGLE.format(o="'", c="'", q="'")
    + "|"
    + _SINGLE.format(o="‘", c="’", q="’")
)
#: Punctuation that ends a quotation's words but belongs to the frame's sentence ("Go home," he said).
_JOINING = re.compile(r"[,;:]+$")
_MARKS = re.compile(r'["“”«»]')  # unpaired, they leave the sentence as it is; single quotes cannot say
_SINGLE_MARKS = re.compile(r"(?<!\w)['‘]")  # an opening single quote, maybe


@dataclasses.dataclass(frozen=True)
class Quoted:
    """A sentence taken apart: ``texts`` for the model, and how to put their translations together.

    Attributes:
        sentence: the sentence as given.
        spans: per quotation, ``(start, end)`` of it in ``sentence`` (marks included).
        marks: per quotation, its opening and closing marks.
        joins: per quotation, the punctuation its words ended with and the model does not read.
        words: per quotation, its words without the ``joins``.
        frame: the sentence with a stand-in in place of each quotation, or None where nothing but
            quotations, spaces and punctuation remain (dialogue: ``"Hi." "Hello."``).
        stand_ins: per quotation, its stand-in in ``frame`` (empty without a frame).
    """

    sentence: str
    spans: tuple
    marks: tuple
    joins: tuple
    words: tuple
    frame: object = None
    stand_ins: tuple = ()

    @property
    def texts(self):
        """What the model translates: the frame (if any), then each quotation's words, their first letter
        a capital (the corpus's sentences start with one: "puppy." alone came out "corre.")."""
        return ([self.frame] if self.frame is not None else []) + [w[:1].upper() + w[1:] for w in self.words]

    def put_together(self, translations):
        """The sentence's translation from those of :attr:`texts` (in order), or None where the frame's
        translation does not hold each stand-in exactly once."""
        if self.frame is None:
            frame, quoted = None, translations
        else:
            frame, quoted = translations[0], translations[1:]
        parts = [
            f"{opening}{_like(words, said)}{join}{closing}"
            for (opening, closing), join, words, said in zip(self.marks, self.joins, self.words, quoted)
        ]
        if frame is None:
            return _spliced(self.sentence, self.spans, parts)
        # a quotation that brings its own full stop takes the one after its stand-in ("dijo: «Estoy cansado.».")
        ends = [r"\.?" if part[-2:-1] in ".!?" else "" for part in parts]
        return replace_once(frame, {name_pattern(s, end): part for s, end, part in zip(self.stand_ins, ends, parts)})


def take_apart(sentence):
    """``sentence``'s quotations and frame (:class:`Quoted`), or None where it holds no quotation, a
    quotation mark left unpaired, or more quotations than free stand-ins (the common case: None)."""
    if not _MARKS.search(sentence) and not _SINGLE_MARKS.search(sentence):
        return None
    found = list(QUOTED.finditer(sentence))
    spans = tuple(m.span() for m in found)
    outside = _spliced(sentence, spans, [""] * len(spans))
    if not found or _MARKS.search(outside):  # unpaired or nested marks: the sentence as it is
        return None
    groups = [[g for g in m.groups() if g is not None] for m in found]
    joins = [_JOINING.search(words.rstrip()) for _, words, _ in groups]
    words = tuple(
        (words.rstrip()[: join.start()] if join else words).strip() for (_, words, _), join in zip(groups, joins)
    )
    common = {
        "spans": spans,
        "marks": tuple((opening, closing) for opening, _, closing in groups),
        "joins": tuple(join.group() if join else "" for join in joins),
        "words": words,
    }
    if not re.search(r"\w", outside):
        return Quoted(sentence, **common)
    free = free_names(sentence)
    if len(found) > len(free) or not all(map(_spoken, words, common["joins"])):
        return None
    stand_ins = tuple(free[: len(found)])
    return Quoted(sentence, **common, frame=_spliced(sentence, spans, stand_ins), stand_ins=stand_ins)


def _spliced(sentence, spans, parts):
    """``sentence`` with the text at each ``(start, end)`` of ``spans`` (in order) replaced by its part."""
    out, end = [], 0
    for (start, stop), part in zip(spans, parts):
        out += [sentence[end:start], part]
        end = stop
    return "".join([*out, sentence[end:]])


def _spoken(words, join):
    """Whether a quotation inside a sentence reads as speech (``"Stop!"``, ``"I do."``, ``"Go home,"``),
    which the model translates well alone, rather than a word or a title mentioned (``the word "cat"``,
    ``called a "puppy."``), which it translated badly alone ("cate", "puppica."): those sentences
    stay as they are."""
    count = len(words.split())
    return words.endswith(("!", "?", "…")) or count >= 3 or (count == 2 and (join or words.endswith(".")))


def _like(words, translation):
    """The translation of a quotation's ``words``, ending as they end: the full stop the model adds to
    a word or a phrase without one taken off (``"cat"`` → ``"gato"``, not ``"Gato."``), and its first
    letter lower case where theirs is."""
    translation = translation.strip()
    if words and words[-1] not in ".!?…" and translation.endswith(".") and not translation.endswith(".."):
        translation = translation[:-1]
    if words[:1].islower() and translation[:1].isupper() and not translation[1:2].isupper():
        translation = translation[0].lower() + translation[1:]
    return translation
