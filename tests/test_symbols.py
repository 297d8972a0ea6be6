"""Symbols and unit abbreviations go to the model spelled out (transformer_tf.symbols), and numbers with
slashes as stand-ins (transformer_tf.numerals)."""

import pytest
from echo_translator import EchoTranslator

from transformer_tf import numerals
from transformer_tf.symbols import spelled_out


@pytest.mark.parametrize(
    ("sentence", "spelled"),
    [
        ("It costs 20 € or €2,500.50!", "It costs 20 euros or 2,500.50 euros!"),
        ("It costs €1, £50 or ¥500.", "It costs 1 euro, 50 pounds or 500 yen."),
        (
            "It is 30 °C, 86°F, 30° in the shade.",
            "It is 30 degrees Celsius, 86 degrees Fahrenheit, 30 degrees in the shade.",
        ),
        ("He ran 10 km at 12 km/h.", "He ran 10 kilometers at 12 kilometers per hour."),
        ("It weighs 3 kg, 1 lb or 5 lbs.", "It weighs 3 kilos, 1 pound or 5 pounds."),
        (
            "It is 3,000 m high, 6 ft tall, 5 mi away, at 60 mph.",
            "It is 3,000 meters high, 6 feet tall, 5 miles away, at 60 miles per hour.",
        ),
        ("Tom & Mary are here.", "Tom and Mary are here."),
        ("It is my 1st time on the 4th floor; I came 10th.", "It is my first time on the fourth floor; I came tenth."),
        ("Born on May 1st, the 10th of June.", "Born on May 1, the 10 of June."),
        (
            "From the UK to the U.S.A., then the USA.",
            "From the United Kingdom to the United States, then the United States.",
        ),
        ("I was born in the U.S.", "I was born in the United States."),
        ("Wait 5 mins, 1 min, 10 secs, 2 hrs.", "Wait 5 minutes, 1 minute, 10 seconds, 2 hours."),
        ("At 9am, 10 PM, 3:30pm or 11:45 A.M.?", "At 9 a.m., 10 p.m., 3:30 p.m. or 11:45 a.m.?"),
        ("It starts at 9am.", "It starts at 9 a.m."),  # one full stop, as the corpus's "at 2 p.m."
        ("On 5 June 2023, 5th June and 14 February.", "On June 5, 2023, June 5 and February 14."),  # day first
        ("On Monday, June 5, 2023 and June 5 2023.", "On Monday June 5, 2023 and June 5, 2023."),
        ("She arrived in March 2020.", "She arrived in March of 2020."),
        ('He said "the U.K."', 'He said "the United Kingdom."'),
        ("Is it the U.S.? The UK!", "Is it the United States? The United Kingdom!"),
    ],
)
def test_symbols_and_units_after_a_number_are_spelled_as_the_corpus_writes_them(sentence, spelled):
    assert spelled_out(sentence) == spelled


@pytest.mark.parametrize(
    "sentence",
    [
        "R&D and AT&T.",  # no spaces around: a name
        "I have € and £.",  # no number
        "Wait 10 minutes, 2 good days, 5 amigos.",  # a word, not a unit
        "Add 200 g and 30 cm.",  # the model garbles their names too: as typed
        "It costs $20, 50%.",  # the model knows them
        "Room 5 m2, 5m³.",
        "The 21st century, 11th hour.",  # past tenth: as typed
        "The US, U.S.-made, UK-based, USAF, UKIP.",  # the model knows "the US"; parts of longer words
        "At 13pm, 7 a.m. and 25 AM.",  # no hour, or already as the corpus writes it
        "On Friday, June 10 and in March of 2020.",  # a weekday without a year: the model fails either way
        "Hi.",
    ],
)
def test_what_is_not_a_symbol_after_a_number_is_left_as_typed(sentence):
    assert spelled_out(sentence) == sentence


def test_numbers_with_slashes_go_as_stand_ins():
    assert numerals.take_out("Born 12/05/1990, I ate 1/2 of it 24/7.") == (
        "Born 48, I ate 37 of it 59.",
        {"48": "12/05/1990", "37": "1/2", "59": "24/7"},
    )
    assert numerals.take_out("and/or, km/h") == ("and/or, km/h", {})


def test_the_translators_read_the_symbols_spelled_out():
    echo = EchoTranslator()
    assert echo.translate(["IT COSTS €20 & 3 KG."], progress=False) == ["IT COSTS 20 EUROS AND 3 KILOS."]
    assert echo.read == [["It costs 20 euros and 3 kilos."]]  # recased, then spelled out
    assert "He ran 10 kilometers." in echo.source_texts("He ran 10 km.")
