"""Web and e-mail addresses, @handles and #hashtags go around the model as names it copies, and
come back as typed.

The corpus is everyday sentences: the shipped model has seen none of them, and spells them
into nonsense ("Send it to tom@example.com today." → "Mándelo a tomaré todavíaample. Hoy
quécase.", "I love #python." → "Me encanta el 9 de la cabeza."). A translator must give them
back exactly. So each (:data:`ADDRESS`) goes to the model as a name that the sentence does not
hold (:data:`~transformer_tf.stand_ins.NAMES`, which the corpus's Spanish keeps): "Send it to Tom
today." → "Mándelo a Tom hoy.", and the name in the translation is replaced by the address
(:func:`put_back`). Where a name does not come back
exactly once, :func:`put_back` says so (None) and the caller translates the sentence as it was.
``bench/verbatim_pass.py`` measures both ways.
"""

import re

from transformer_tf.stand_ins import free_names, name_pattern, replace_once

#: What the model must copy: a web address (``https://…``, ``www.…``, without the sentence's
#: punctuation after it), an e-mail address, a handle (``@tatoeba``) or a tag with a letter in it
#: (``#python``; not ``#1``).
ADDRESS = re.compile(
    r"(?:https?://|www\.)[^\s<>\"“”«»]*[^\s<>\"“”«».,;:!?)\]'’]"
    r"|(?<![\w.+-])[\w.+-]+@[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)+"
    r"|(?<![\w@#&/])@\w*[^\W_]\w*"
    r"|(?<![\w@#&/])#\w*[^\W\d_]\w*"
)


def take_out(sentence):
    """``sentence`` with each :data:`ADDRESS` replaced by a stand-in name, and which is which.

    Returns:
        ``(text for the model, {stand_in: address as written})``; the sentence itself and ``{}``
        when it holds no address (the common case), or more of them than free stand-ins.
        ``"Write to tom@example.com."`` → ``("Write to Tom.", {"Tom": "tom@example.com"})``.
    """
    if "@" not in sentence and "#" not in sentence and "www." not in sentence and "://" not in sentence:
        return sentence, {}  # the common case
    found = ADDRESS.findall(sentence)
    free = free_names(sentence) if found else []
    if not found or len(found) > len(free):
        return sentence, {}
    stand_ins = dict(zip(free, found))
    chosen = iter(stand_ins)
    return ADDRESS.sub(lambda _: next(chosen), sentence), stand_ins


def put_back(translation, stand_ins):
    """The model's ``translation`` with each stand-in name replaced by its address, or None where a
    name is not in it exactly once (the model dropped, repeated or changed it)."""
    return replace_once(translation, {name_pattern(name): address for name, address in stand_ins.items()})
