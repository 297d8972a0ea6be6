"""Web and e-mail addresses, handles and tags go around the model as stand-in names (transformer_tf.verbatim)."""

import pytest
from echo_translator import EchoTranslator

from transformer_tf.verbatim import ADDRESS, put_back, take_out


@pytest.mark.parametrize(
    ("sentence", "addresses"),
    [
        ("Send it to tom@example.com today.", ["tom@example.com"]),
        ("Mail tom.smith+news@mail.example.co.uk.", ["tom.smith+news@mail.example.co.uk"]),  # not the full stop
        ("Visit https://www.example.com/docs?a=1&b=2, then rest.", ["https://www.example.com/docs?a=1&b=2"]),
        ("See www.example.com.", ["www.example.com"]),
        ("Go to (https://example.com/x).", ["https://example.com/x"]),
        ("Follow @tatoeba and #python!", ["@tatoeba", "#python"]),
        ("We are #1! Meet me @ 5. Tom & Mary. C# is fun.", []),  # no letter, no name, a word before
        ("The file is at /home/tom/x.txt", []),
    ],
)
def test_what_counts_as_an_address(sentence, addresses):
    assert ADDRESS.findall(sentence) == addresses


def test_each_address_goes_as_a_name_the_sentence_does_not_hold_and_comes_back():
    busy = "Tom wrote to mary@example.com about #python."  # two addresses, one free name: as typed
    assert take_out(busy) == (busy, {})
    text, stand_ins = take_out("Write to mary@example.com about #python.")
    assert (text, stand_ins) == ("Write to Tom about John.", {"Tom": "mary@example.com", "John": "#python"})
    assert put_back("Escribe a Tom sobre John.", stand_ins) == "Escribe a mary@example.com sobre #python."
    assert put_back("Escribe a Tomás sobre John.", stand_ins) is None  # Tom is not back as a word
    assert put_back("Escribe a Tom y Tom sobre John.", stand_ins) is None
    assert take_out("No address here.") == ("No address here.", {})


def test_the_translators_copy_addresses_and_retry_a_lost_one_as_typed():
    echo = EchoTranslator()
    out = echo.translate(["Send it to tom@example.com today. Follow @tatoeba!", "Hi."], progress=False)
    assert out == ["Send it to tom@example.com today. Follow @tatoeba!", "Hi."]
    assert echo.read == [["Send it to Tom today.", "Follow Tom!", "Hi."]]
    assert "Follow Tom!" in echo.source_texts("Follow @tatoeba!")

    losing = EchoTranslator(drops="Tom")  # a model that drops the stand-in: the sentence again, as typed
    assert losing.translate(["Follow @tatoeba!"], progress=False) == ["Follow @tatoeba!"]
    assert losing.read == [["Follow Tom!"], ["Follow @tatoeba!"]]


def test_a_sentence_in_capitals_keeps_its_address_and_comes_back_in_capitals():
    echo = EchoTranslator()
    assert echo.translate(["WRITE TO TOM@EXAMPLE.COM NOW."], progress=False) == ["WRITE TO TOM@EXAMPLE.COM NOW."]
    assert echo.read == [["Write to Tom now."]]
    assert echo.translate(["write to tom@example.com now."], progress=False) == ["Write to tom@example.com now."]
