"""Sentence splitting: a text of several English sentences is translated sentence by sentence."""

import functools
import re

# A sentence end followed by more text: only then is pysbd worth its time.
_INNER_BOUNDARY = re.compile(r"[.!?…][\"'”’)\]]*\s+\S")


@functools.lru_cache(maxsize=1)
def _segmenter():
    import pysbd  # rule-based sentence boundary detection (abbreviations, decimals, ...)

    return pysbd.Segmenter(language="en", clean=False)


def split_sentences(text):
    """The sentences of an English text, with pysbd (``"Dr. Smith came. He left."`` →
    two sentences; ``"It costs $3.50."`` → one). A text without an inner sentence end is
    returned whole (the common case, and no pysbd call); blank text gives ``[]``.
    """
    text = text.strip()
    if not text:
        return []
    if not _INNER_BOUNDARY.search(text):
        return [text]
    return [s.strip() for s in _segmenter().segment(text) if s.strip()]
