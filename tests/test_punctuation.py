"""Dashes, brackets and ellipses go to the model as commas and full stops (transformer_tf.punctuation)."""

import pytest
from echo_translator import EchoTranslator

from transformer_tf.punctuation import put_back, take_out


@pytest.mark.parametrize(
    ("sentence", "text", "ending"),
    [
        ("Tom - my brother - is here.", "Tom, my brother, is here.", None),
        ("Tom — my brother — is here.", "Tom, my brother, is here.", None),
        ("Tom—my brother—is here.", "Tom, my brother, is here.", None),
        ("Tom (my brother) is here.", "Tom, my brother, is here.", None),
        ("I like cats (and dogs).", "I like cats, and dogs.", None),
        ("I was going to say... but never mind.", "I was going to say, but never mind.", None),
        ("Is it you...?", "Is it you?", None),
        ("Wait...", "Wait.", "..."),
        ("He said (quietly) that it was late…", "He said, quietly, that it was late.", "…"),
    ],
)
def test_dashes_brackets_and_ellipses_become_commas_and_full_stops(sentence, text, ending):
    assert take_out(sentence) == (text, ending)


@pytest.mark.parametrize(
    "sentence", ["A well-known man.", "It costs 5-10 dollars.", "I see :-)", "Smile () now.", "Hi.", ""]
)
def test_hyphens_in_words_and_empty_brackets_are_left_as_typed(sentence):
    assert take_out(sentence) == (sentence, None)


def test_the_final_ellipsis_comes_back_before_a_closing_mark():
    assert put_back("Espera.", "...") == "Espera..."
    assert put_back("¿Estás ahí?", "…") == "¿Estás ahí…?"
    assert put_back("¡Hola!", "...") == "¡Hola...!"
    assert put_back("Hola", "...") == "Hola..."
    assert put_back("Hola.", None) == "Hola."


def test_the_translators_read_the_corpus_punctuation_and_give_the_ellipsis_back():
    echo = EchoTranslator()
    assert echo.translate(["Tom (my brother) is here... WAIT..."], progress=False) == [
        "Tom, my brother, is here... WAIT..."
    ]
    assert echo.read == [["Tom, my brother, is here.", "Wait."]]
    assert "Tom, my brother, is here." in echo.source_texts("Tom (my brother) is here...")
