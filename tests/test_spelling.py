"""British spellings go to the model in the American form its corpus writes (transformer_tf.spelling)."""

import json

import pytest
from echo_translator import EchoTranslator

from transformer_tf.config import DEFAULT_CHECKPOINT_DIR, SPELLING_FILE
from transformer_tf.errors import TransformerTFError
from transformer_tf.spelling import Spellings, american_forms, apostrophe_forms, breame_pairs

TABLE = Spellings({"colour": "color", "favourite": "favorite", "realise": "realize", "dont": "don't", "im": "I'm"})


def test_breames_pairs_are_kept_where_the_corpus_writes_the_american_form_more_often():
    pairs = breame_pairs()
    assert pairs["colour"] == "color" and pairs["apologised"] == "apologized" and pairs["buses"] == "busses"
    sentences = ["My favorite color is red.", "What color?", "I took two buses.", "The colour is nice."]
    kept = american_forms(sentences, {"colour": "color", "buses": "busses", "favourite": "favorite", "tyre": "tire"})
    assert kept == {"colour": "color", "favourite": "favorite"}  # buses: British more often; tyre: neither


def test_contractions_are_kept_where_the_corpus_never_writes_their_letters_as_a_word():
    sentences = ["I don't know.", "I'm here.", "It's its bone.", "He'll come.", "Go to hell.", "That's it."] * 20
    assert apostrophe_forms(sentences) == {"dont": "don't", "im": "I'm", "thats": "that's"}  # "its" is a word;
    assert apostrophe_forms(sentences, known=21) == {}  # "he'll" is never taken ("hell"); each must be known


@pytest.mark.parametrize(
    ("sentence", "respelled"),
    [
        ("What is your favourite colour?", "What is your favorite color?"),
        ("Colour me happy, I REALISE.", "Color me happy, I REALIZE."),
        ("Visit www.colour.com or #favourite, my favourite.", "Visit www.colour.com or #favourite, my favorite."),
        ("Colourful discolouration.", "Colourful discolouration."),  # whole words only
        ("im sure I DONT know, Dont ask.", "I'm sure I DON'T know, Don't ask."),
        ("No British here.", "No British here."),
    ],
)
def test_british_spellings_go_in_american_form_in_their_case(sentence, respelled):
    assert TABLE.respelled(sentence) == respelled


def test_the_table_is_saved_in_the_model_folder_and_read_back(tmp_path):
    path = TABLE.save(tmp_path, training_pairs=7)
    assert path == tmp_path / SPELLING_FILE
    assert json.loads(path.read_text(encoding="utf-8"))["about"] == {"training_pairs": 7}
    assert Spellings.load(tmp_path).forms == TABLE.forms
    assert Spellings.load(tmp_path / "elsewhere").forms == {} == Spellings.load(None).forms
    assert Spellings({}).respelled("My favourite colour.") == "My favourite colour."
    for broken in ("not json", '{"forms": [1]}', '{"forms": {"colour": 1}}', "{}"):
        path.write_text(broken, encoding="utf-8")
        with pytest.raises(TransformerTFError, match=r"not a spelling table .*transformer-tf casing --checkpoint-dir"):
            Spellings.load(tmp_path)


def test_the_translators_read_american_spellings(tmp_path):
    TABLE.save(tmp_path)
    echo = EchoTranslator()
    echo.checkpoint_dir = tmp_path
    out = echo.translate(["What is your favourite colour?", "I REALISE IT."], progress=False)
    assert echo.read == [["What is your favorite color?", "I realize it."]]  # recased, then respelled
    assert out == ["What is your favorite color?", "I REALIZE IT."]
    assert "What is your favorite color?" in echo.source_texts("What is your favourite colour?")


def test_the_shipped_models_hold_the_table_of_their_training_split():
    forms = Spellings.load(DEFAULT_CHECKPOINT_DIR).forms
    assert forms["favourite"] == "favorite" and forms["colour"] == "color" and "buses" not in forms
    assert (
        forms["didnt"] == "didn't" and forms["im"] == "I'm" and not {"its", "ill", "were", "hell", "shed"} & set(forms)
    )
    assert Spellings.load(DEFAULT_CHECKPOINT_DIR.parent / "en_es_rnn").forms == forms  # the same split
