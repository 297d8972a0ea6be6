"""Numbers with separators go around the model as stand-ins and come back whole (transformer_tf.numerals)."""

import pytest
from echo_translator import EchoTranslator

from transformer_tf import numerals


@pytest.mark.parametrize(
    "sentence, text, stand_ins",
    [
        ("He paid $1,499 for it.", "He paid $48 for it.", {"48": "1,499"}),
        ("It costs $25.99.", "It costs $48.", {"48": "25.99"}),
        (
            "From 400,000 to 2,737.50 and 2.5%.",
            "From 48 to 37 and 59%.",
            {"48": "400,000", "37": "2,737.50", "59": "2.5"},
        ),
        ("It rose from 1,000 to 1,000.", "It rose from 48 to 37.", {"48": "1,000", "37": "1,000"}),  # each once
        ("I have 48 cats and 1,200 fish.", "I have 48 cats and 37 fish.", {"37": "1,200"}),  # 48 is taken
        ("Call 1-800-555-0199 or 555-1234.", "Call 48 or 37.", {"48": "1-800-555-0199", "37": "555-1234"}),
        ("We won 3-1 on 2023-10-05.", "We won 48 on 37.", {"48": "3-1", "37": "2023-10-05"}),
        ("It fell from -5 to −10.5 today.", "It fell from 48 to 37 today.", {"48": "-5", "37": "−10.5"}),
        (
            "Call +1 202 555 0143 or +34 612-345-678.",
            "Call 48 or 37.",
            {"48": "+1 202 555 0143", "37": "+34 612-345-678"},
        ),
    ],
)
def test_separated_numbers_become_stand_ins_the_sentence_does_not_hold(sentence, text, stand_ins):
    assert numerals.take_out(sentence) == (text, stand_ins)


@pytest.mark.parametrize(
    "sentence",
    [
        "I am 30.",
        "We met at 10:30 in 1986.",
        "Ping 192.168.1.1 now.",
        "Count 1,2,3.",
        "Paper A4.5 is odd.",
        "COVID-19 and the F-16.",
        "Tom-5 won 10 - 4, x-5, 3+4.",  # a hyphen in a word, a minus between numbers, a sum
        "Hi.",
    ],
)
def test_whole_numbers_times_addresses_and_words_are_left_to_the_model(sentence):
    assert numerals.take_out(sentence) == (sentence, {})


def test_more_numbers_than_free_stand_ins_leave_the_sentence_as_it_is():
    sentence = " ".join(f"{i}.5" for i in range(len(numerals.STAND_INS) + 1))
    assert numerals.take_out(sentence) == (sentence, {})


def test_a_number_comes_back_with_points_for_thousands_and_its_decimals_as_written():
    assert numerals.spanish("400,000") == "400.000" and numerals.spanish("1,499") == "1.499"
    assert numerals.spanish("25.99") == "25.99" and numerals.spanish("2,737.50") == "2,737.50"
    assert numerals.spanish("555-1234") == "555-1234"
    assert numerals.put_back("Pagó 48 dólares y 37%.", {"48": "1,499", "37": "2.5"}) == "Pagó 1.499 dólares y 2.5%."


@pytest.mark.parametrize("translation", ["Pagó dólares.", "Pagó 480 dólares.", "Pagó 48 y 48 dólares.", "Pagó 4.48."])
def test_a_stand_in_dropped_changed_or_repeated_is_said(translation):
    assert numerals.put_back(translation, {"48": "1,499"}) is None


def test_the_model_reads_stand_ins_and_the_translation_gets_the_numbers_back():
    translator = EchoTranslator()
    out = translator.translate(["It costs $25.99. We had 400,000 visitors.", "I am 30."], progress=False)
    assert out == ["It costs $25.99. We had 400.000 visitors.", "I am 30."]
    assert translator.read == [["It costs $48.", "We had 48 visitors.", "I am 30."]]


def test_a_sentence_whose_stand_in_does_not_come_back_is_translated_as_it_was():
    translator = EchoTranslator(drops="48")
    assert translator.translate(["It costs $25.99.", "I am 30."], progress=False) == ["It costs $25.99.", "I am 30."]
    assert translator.read == [["It costs $48.", "I am 30."], ["It costs $25.99."]]


def test_the_source_texts_hold_the_stand_in_form_and_the_sentence():
    assert EchoTranslator().source_texts("It costs $25.99. 🎉") == ("It costs $48.", "It costs $25.99.")
