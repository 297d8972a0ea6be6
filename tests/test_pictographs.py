"""Emoji go around the model: taken out of a sentence, put back at their places in its translation
(:mod:`transformer_tf.pictographs`), in the one sentence pipeline every engine shares."""

import re

import pytest

from transformer_tf.config import DEFAULT_CHECKPOINT_DIR
from transformer_tf.pictographs import put_back, take_out
from transformer_tf.sentence_translator import SentenceTranslator

FAMILY, FLAG, WAVE, KEYCAP, SMILE = "👨\u200d👩\u200d👧", "🇫🇷", "👋🏽", "1\ufe0f\u20e3", "☺\ufe0f"


def test_zwj_sequences_flags_skin_tones_keycaps_and_variation_selectors_are_each_one_pictograph():
    taken = take_out(
        f"The {FAMILY} family saw the {FLAG} flag, pressed {KEYCAP} and waved {WAVE} with a {SMILE} smile."
    )
    assert [run.text for run in taken.runs] == [FAMILY, FLAG, KEYCAP, WAVE, SMILE]
    assert taken.text == "The family saw the flag, pressed and waved with a smile."
    assert [run.text for run in take_out("Two flags 🇫🇷🇩🇪 here.").runs] == ["🇫🇷🇩🇪"]  # one run of two flags


@pytest.mark.parametrize(
    ("source", "read", "translation", "expected"),
    [
        (
            "I love pizza 🍕 and coffee ☕.",
            "I love pizza and coffee.",
            "Me encanta la pizza y el café.",
            "Me encanta la pizza 🍕 y el café ☕.",
        ),
        ("Hello 😀", "Hello", "Hola", "Hola 😀"),
        ("I love you <3", "I love you", "Te amo", "Te amo <3"),
        ("Great job! 🎉", "Great job!", "¡Buen trabajo!", "¡Buen trabajo! 🎉"),
        ("😀 Hello.", "Hello.", "Hola.", "😀 Hola."),
        ("🎉🎉 Thanks 🙏🏽!", "Thanks!", "¡Gracias!", "🎉🎉 ¡Gracias 🙏🏽!"),
        ("Wow 😀! 🎉 🎉", "Wow!", "¡Guau!", "¡Guau 😀! 🎉 🎉"),
        ("Coffee☕.", "Coffee.", "Café.", "Café☕."),  # glued in the source, glued in the translation
        ("Pizza🍕and coffee.", "Pizza and coffee.", "Pizza y café.", "Pizza🍕y café."),
        ("Tom 👋 is here 🏠 now.", "Tom is here now.", "Tom está aquí ahora.", "Tom 👋 está aquí 🏠 ahora."),
        # brackets that hold only emoji go with them (the model made "99" up for an empty "()")
        ("Do you want pizza (🍕)?", "Do you want pizza?", "¿Quieres pizza?", "¿Quieres pizza (🍕)?"),
        ("I ate [ 🍕🍕 ] today.", "I ate today.", "Hoy comí.", "Hoy [ 🍕🍕 ] comí."),
    ],
)
def test_leading_trailing_and_inner_emoji_go_back_at_their_places(source, read, translation, expected):
    taken = take_out(source)
    assert taken.text == read  # single spaces where the emoji were, none before the final punctuation
    assert put_back(translation, taken) == expected


@pytest.mark.parametrize(
    ("source", "read", "runs"),
    [
        ("Don't worry, be happy :)", "Don't worry, be happy", [":)"]),
        ("Thanks :D! See you ;-) soon <3", "Thanks! See you soon", [":D", ";-)", "<3"]),
        ("I am sad :( :'( xD", "I am sad", [":( :'( xD"]),  # one run
        ("Hello 😀 ^^", "Hello", ["😀 ^^"]),  # a run may mix them with emoji
        (":)", "", [":)"]),  # nothing to read: given back as it is
    ],
)
def test_emoticons_that_stand_apart_from_the_words_go_around_the_model_as_emoji_do(source, read, runs):
    taken = take_out(source)
    assert (taken.text, [run.text for run in taken.runs]) == (read, runs)


@pytest.mark.parametrize(
    "sentence", ["Note:D is odd.", "See http://example.com/x:P now.", "Items (1-8) here.", "At 10:30; 5=5.", "Hi."]
)
def test_what_only_looks_like_an_emoticon_stays_for_the_model(sentence):
    assert take_out(sentence).runs == ()


def test_brackets_that_hold_words_too_stay_for_the_model():
    taken = take_out("He laughed (a lot 😂).")
    assert (taken.text, [run.text for run in taken.runs]) == ("He laughed (a lot).", ["😂"])


def test_an_inner_emoji_stays_inside_the_translation_at_the_same_share_of_its_words():
    taken = take_out("One two three four 🍕 five six seven eight.")  # after 4 of 8 words
    assert put_back("a b c d e f g h i j.", taken) == "a b c d e 🍕 f g h i j."  # after 5 of 10
    assert put_back("Sí.", taken) == "Sí 🍕."  # one word: after it, never before the first
    assert put_back("", taken) == "🍕"


def test_a_sentence_of_only_emoji_and_punctuation_is_given_back_as_it_is():
    for source in ("👍", "🎉 🎉!", f"{FAMILY}{FLAG}"):
        taken = take_out(source)
        assert taken.text == ""
        assert put_back("", taken) == source


@pytest.mark.parametrize("sentence", ["I am here.", "Café in São Paulo ★ → •.", "", "  spaced  out  "])
def test_text_without_emoji_goes_through_untouched(sentence):
    taken = take_out(sentence)
    assert (taken.text, taken.runs) == (sentence, ())
    assert put_back("Estoy  aquí .", taken) == "Estoy  aquí ."


class Recording(SentenceTranslator):
    """A stand-in engine: records what its decoder is given; each sentence's "translation" is it upper-cased."""

    places, max_tokens = False, 64

    def __init__(self):
        self.decoded = []

    def _decode_sentences(self, sentences, batch_size, beam, progress):
        self.decoded.append(list(sentences))
        return [s.upper() for s in sentences]


def test_every_engine_path_decodes_the_sentences_without_their_emoji_and_puts_them_back():
    translator = Recording()
    texts = ["Great! 🎉 See you.", "👍", "Hi 😀 there.", "No emoji here."]
    assert translator.translate(texts, progress=False) == ["GREAT! 🎉 SEE YOU.", "👍", "HI 😀 THERE.", "NO EMOJI HERE."]
    # one decode, of the sentences as the model reads them; the only-emoji one left blank (no decoding)
    assert translator.decoded == [["Great!", "See you.", "", "Hi there.", "No emoji here."]]
    pairs = translator.translate_by_sentence(["Great! 🎉 See you."], progress=False)  # the web app's sentences
    assert pairs == [[("Great! 🎉", "GREAT! 🎉"), ("See you.", "SEE YOU.")]]
    assert list(translator.translate_lines(["Hi 😀 there.", "Hello 😀"])) == ["HI 😀 THERE.", "HELLO 😀"]
    # the same sentence with other emoji is decoded once
    translator.decoded.clear()
    assert translator.translate_sentences(["Hi 😀", "Hi 🎉"], progress=False) == ["HI 😀", "HI 🎉"]
    assert translator.decoded == [["Hi"]]


def test_the_text_the_model_read_is_what_a_cut_is_found_by():
    translator = Recording()
    assert translator.source_texts("Hi 😀 there.") == ("Hi there.",)
    assert translator.cut_tokens(["Hi 😀 there.", "Bye."], {"Hi there.": 70}) == {0: 70}


SHIPPED_SENTENCES = ["I love pizza 🍕 and coffee ☕.", "Hello 😀"]
WITHOUT_EMOJI = ["I love pizza and coffee.", "Tom is tired.", "They live in Warsaw.", "It costs 5 dollars."]


def _emoji(text):
    return [run.text for run in take_out(text).runs]


def _assert_emoji_kept_and_no_digit_made_up(translator):
    translations = translator.translate(SHIPPED_SENTENCES, progress=False)
    for source, translation in zip(SHIPPED_SENTENCES, translations, strict=True):
        assert _emoji(translation) == _emoji(source)  # each emoji once, in order
        assert not re.search(r"\d", translation)  # the byte pieces made up "19" and "9"
    # the text around the emoji is the translation of the sentence without them
    assert take_out(translations[0]).text == translator.translate("I love pizza and coffee.", progress=False)
    # text without emoji: byte for byte what the pipeline below the emoji pass gives (before it: the whole)
    below = translator._start_repeated(WITHOUT_EMOJI, 64, 1, False)()
    assert translator.translate(WITHOUT_EMOJI, progress=False) == below


@pytest.mark.slow  # restores the shipped model on both engines and the RNN (~20 s)
def test_the_shipped_models_keep_each_emoji_once_in_order_and_make_no_digit_up():
    from transformer_tf.attention_maps import sentence_attention
    from transformer_tf.engines import open_translator
    from transformer_tf.translate import Translator

    keras_models = [Translator.from_checkpoint(DEFAULT_CHECKPOINT_DIR.parent / name) for name in ("en_es", "en_es_rnn")]
    for translator in (open_translator(DEFAULT_CHECKPOINT_DIR), *keras_models):  # CTranslate2: the default engine
        _assert_emoji_kept_and_no_digit_made_up(translator)
    for translator in keras_models:
        # the attention views are the model's: what it read (no byte pieces of the emoji) and wrote
        seen = sentence_attention(translator, "Hello 😀")
        assert seen.source_pieces == translator.source_tokenizer.id_to_piece(translator.encode_sources(["Hello"])[0])
        assert seen.sentence == "Hello 😀" and "😀" not in seen.translation and not re.search(r"\d", seen.translation)
        with pytest.raises(ValueError, match="only emoji"):
            sentence_attention(translator, "👍")


def test_plot_attention_refuses_a_sentence_of_only_emoji_before_loading_a_model(tmp_path, capsys):
    from transformer_tf.cli import main

    out = ["--out", str(tmp_path / "x"), "--checkpoint-dir", str(tmp_path / "none")]  # no model there
    assert main(["plot-attention", "👍 🎉", *out]) == 2
    err = capsys.readouterr().err
    assert "the sentence is only emoji: the model reads nothing of it" in err and "Traceback" not in err


def test_ascii_text_goes_through_without_importing_regex():
    """A translate of ASCII text (most) does not pay regex's 10-25 ms import: the patterns load on first
    use, for a sentence with a non-ASCII character."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from transformer_tf.pictographs import put_back, take_out\n"
        "from transformer_tf.sentences import split_sentences\n"
        "taken = take_out('I love pizza and coffee.')\n"
        "assert put_back('Me encanta.', taken) == 'Me encanta.' and split_sentences('Hi. Bye.') == ['Hi.', 'Bye.']\n"
        "print('regex' in sys.modules)\n"
        "take_out('I love pizza \\U0001f355.')\n"
        "print('regex' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["False", "True"]
