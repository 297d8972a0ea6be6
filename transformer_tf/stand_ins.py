"""What the stand-in passes share (:mod:`~transformer_tf.numerals`, :mod:`~transformer_tf.quotes`,
:mod:`~transformer_tf.verbatim`, :mod:`~transformer_tf.titles`, :mod:`~transformer_tf.code_switch`): a
stand-in goes to the model in place of what it would garble, and only a translation that holds it
exactly once gets the original back; one dropped, repeated or changed sends the sentence round again."""

import re

#: Stand-in names for what stands where a name could (a quotation, an address): names that the corpus's
#: Spanish side keeps as they are (Tom in 20,384 of the 20,392 pairs whose English holds it, John in 381
#: of 398), tried in this order, each only where the sentence does not hold it already.
NAMES = ("Tom", "John")
#: A woman's name that the corpus's Spanish keeps (Mary in 3,985 of the 4,772 pairs whose English holds
#: it; María in 777), for a stand-in that Spanish adjectives agree with as a woman (:mod:`~transformer_tf.titles`).
WOMEN = ("Mary",)


def name_pattern(name, then=""):
    """``name`` as a whole word (not inside "Tomás"), and ``then`` (a pattern) after it."""
    return re.compile(rf"\b{name}\b{then}")


def free_names(sentence, names=NAMES):
    """The ``names`` (:data:`NAMES` or :data:`WOMEN`) that ``sentence`` does not hold, in order."""
    return [name for name in names if not name_pattern(name).search(sentence)]


def replace_once(translation, replacements):
    """``translation`` with what each pattern of ``replacements`` (``{compiled pattern: text}``)
    matches replaced by its text, or None where a pattern does not match exactly once."""
    if any(len(pattern.findall(translation)) != 1 for pattern in replacements):
        return None
    for pattern, text in replacements.items():
        translation = pattern.sub(lambda _, text=text: text, translation)
    return translation
