"""A sentence longer than the model translates well goes to it in clauses, and its translation is put
together.

The corpus's sentences are short: 99.9% of the shipped models' training pairs hold at most 30 source
tokens, the longest 61, so the models translate a longer sentence badly, and one longer than they
read at all (``max_tokens``: 96, about 60 English words) was cut, the rest lost with a warning
("only the start is translated"). Its clauses are short, so :func:`take_apart` cuts a sentence of
more than :data:`PIECE` tokens after its semicolons, colons and commas into the fewest pieces of at
most :data:`PIECE` tokens each (clauses packed together in order), the model translates each piece,
and :func:`put_together` joins the translations with the marks the English had, each piece but the
last without the final punctuation the model gave it (and the opening ``¿`` or ``¡`` of that), each
piece but the first in lower case where the English piece was (not a name it copied):

    When I was a child, I spent every summer on the farm, where I learned …, and …
    →  "Cuando era niño, pasaba todos los veranos en la granja" + "," + "donde aprendí …" + …

A clause that is alone too long goes whole (cut, with the warning, past ``max_tokens``).
``bench/long_sentences.py`` measures the pass on held-out sentences joined into long ones.
"""

import re

#: The most source tokens (START and END included) of a piece: about the training pairs' longest but
#: one in a thousand (30 tokens and the two marks).
PIECE = 32
#: Where a sentence may be cut: after a semicolon, a colon or a comma that follows a word, before white space.
_CUT = re.compile(r"(?<=\w[;:,])\s+")
_FINAL = re.compile(r"\s*[.!?…]+\s*$")


def take_apart(sentence, tokens, limit):
    """The pieces of ``sentence`` for the model, or None where it fits or has no place to cut.

    Args:
        tokens: ``text → how many tokens the model reads for it`` (START and END included).
        limit: the most tokens of a piece (:data:`PIECE`, or the model's ``max_tokens`` if fewer).

    Returns:
        ``[piece, …]`` in order, each ending with its mark (``"When I was a child,"``), where ``sentence``
        needs more than ``limit`` tokens; None otherwise, and where ``limit`` is None (no limit).
    """
    if not limit or not _may_be_long(sentence, limit) or tokens(sentence) <= limit:
        return None
    parts = _CUT.split(sentence)
    if len(parts) < 2:
        return None
    pieces = [parts[0]]
    for clause in parts[1:]:
        joined = f"{pieces[-1]} {clause}"
        if tokens(joined) <= limit:
            pieces[-1] = joined
        else:
            pieces.append(clause)
    return pieces


def put_together(pieces, translations):
    """The translation of a sentence from those of its ``pieces`` (:func:`take_apart`): joined with the
    English pieces' final marks, each but the last without the final punctuation its translation has
    (and the ``¿`` ``¡`` that opened it), each but the first in lower case where its English piece is."""
    out = []
    for i, (piece, translation) in enumerate(zip(pieces, translations, strict=True)):
        translation = translation.strip()
        if i < len(pieces) - 1:
            ended = _FINAL.search(translation)
            if ended and ("?" in ended.group() or "!" in ended.group()):
                translation = translation.lstrip("¿¡")
            translation = _FINAL.sub("", translation).rstrip(",;:") + piece[-1]
        opening = len(translation) - len(translation.lstrip("¿¡"))
        if i and piece[:1].islower() and _capital_of_the_sentence(translation[opening:], piece):
            translation = translation[:opening] + translation[opening].lower() + translation[opening + 1 :]
        out.append(translation)
    return " ".join(out)


def _capital_of_the_sentence(translation, piece):
    """Whether ``translation`` starts with a capital that only its being a sentence gave it: not an
    acronym, nor a word its English ``piece`` writes with that capital too (a name: "Tom")."""
    first = translation.split(maxsplit=1)[0] if translation.strip() else ""
    if not first[:1].isupper() or first[1:2].isupper():
        return False
    return re.search(rf"\b{re.escape(first.strip('.,;:!?'))}\b", piece) is None


def measure(translator):
    """``(tokens, limit)`` for :func:`take_apart` of a translator's sentences: its source tokenizer's count
    (START and END included), and :data:`PIECE` or its ``max_tokens`` if fewer (None where it sets none)."""
    limit = translator.max_tokens and min(translator.max_tokens, PIECE)
    return (lambda text: len(translator.source_tokenizer.encode([text])[0])), limit


def around(start, tokens, limit, sentences, batch_size, beam, progress):
    """The next stage ``start`` (a ``_start_…`` method) of ``sentences``, each that needs more than ``limit``
    tokens (:func:`take_apart`; None: no limit) read in pieces and put together (:func:`put_together`);
    returns the function that finishes it, as ``start`` does."""
    apart = [take_apart(s, tokens, limit) for s in sentences]
    if not any(apart):  # the common case
        return start(sentences, batch_size, beam, progress)
    texts = [pieces or [s] for s, pieces in zip(sentences, apart)]
    decoding = start([t for group in texts for t in group], batch_size, beam, progress)

    def together():
        flat, results = iter(decoding()), []
        for pieces, group in zip(apart, texts):
            translations = [next(flat) for _ in group]
            results.append(put_together(pieces, translations) if pieces else translations[0])
        return results

    return together


def _may_be_long(sentence, limit):
    """Whether ``sentence`` may need more than ``limit`` tokens (START and END, and the word start that
    SentencePiece puts first, being three): a piece of an ASCII text holds one character at least (so a
    short one is answered without the tokenizer), a character of another is four byte pieces at most."""
    return (len(sentence) if sentence.isascii() else 4 * len(sentence)) + 3 > limit
