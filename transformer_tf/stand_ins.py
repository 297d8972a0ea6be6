"""What the stand-in passes share (:mod:`~transformer_tf.numerals`, :mod:`~transformer_tf.quotes`,
:mod:`~transformer_tf.code_switch`): a stand-in goes to the model in place of what it would garble,
and only a translation that holds it exactly once gets the original back; one dropped, repeated or
changed sends the sentence round again."""


def replace_once(translation, replacements):
    """``translation`` with what each pattern of ``replacements`` (``{compiled pattern: text}``)
    matches replaced by its text, or None where a pattern does not match exactly once."""
    if any(len(pattern.findall(translation)) != 1 for pattern in replacements):
        return None
    for pattern, text in replacements.items():
        translation = pattern.sub(lambda _, text=text: text, translation)
    return translation
