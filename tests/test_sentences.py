"""Sentence splitting stays linear in the text's length, and pieces give the sentences the whole text gives."""

import pytest

from transformer_tf import sentences
from transformer_tf.sentences import split_sentences


class CountingSegmenter:
    """pysbd's segmenter, recording the length of every text it is given (its work grows with its square)."""

    def __init__(self):
        self.real, self.lengths = sentences._segmenter(), []

    def segment(self, text):
        self.lengths.append(len(text))
        return self.real.segment(text)


@pytest.fixture
def counting(monkeypatch):
    segmenter = CountingSegmenter()
    monkeypatch.setattr(sentences, "_segmenter", lambda: segmenter)
    return segmenter


def test_a_long_line_is_segmented_in_bounded_pieces_that_cover_it_about_once(counting):
    text = "I am here. " * 3_000  # 33,000 characters; the 1 MB line is this × 32
    assert split_sentences(text) == ["I am here."] * 3_000
    # pysbd's cost grows with the square of its input: bounded pieces make the whole linear
    assert max(counting.lengths) <= sentences.PIECE
    assert sum(counting.lengths) <= 1.1 * len(text)


def test_a_long_run_without_a_sentence_end_inside_a_piece_is_still_bounded(counting):
    text = "word " * 2_000 + ". And one more. " + "x" * 5_000 + " end."
    parts = split_sentences(text)
    assert max(counting.lengths) <= sentences.PIECE and sum(counting.lengths) <= 1.1 * len(text)
    assert "".join("".join(parts).split()) == "".join(text.split())  # nothing lost, nothing doubled


@pytest.mark.parametrize("piece", [40, 64, 100])
def test_pieces_give_the_sentences_the_whole_text_gives(piece, monkeypatch):
    text = (
        "Dr. Smith came at 5 p.m. today. It costs $3.50, he said. Really?! "
        'She said "Go." Then she went. Mr. X stayed… The end. '
    ) * 4
    whole = [s.strip() for s in sentences._segmenter().segment(text.strip()) if s.strip()]
    monkeypatch.setattr(sentences, "PIECE", piece)
    assert split_sentences(text) == whole


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  \n",
        "\u200b",
        " \u200b\u2060 ",
        "\ufeff",
        "\u00ad",
        "\x07\x01",
        "\x00",
        "\u3164",
        "\ufe0f",
        "\u2800 \u034f",
    ],
)
def test_white_space_and_invisible_characters_are_blank(text):
    assert sentences.is_blank(text)


@pytest.mark.parametrize("text", ["Hi.", "a", "é", "\u200bHi.", "Hi.\u200b", "😀", "😀\ufe0f", "\x07!", "\u3164x"])
def test_a_visible_character_is_not_blank(text):
    assert not sentences.is_blank(text)


@pytest.mark.parametrize(
    "text, expected",
    [("Hi. \u2060", ["Hi."]), ("\u2060\u200b", []), ("Really? \u2060 Yes!", ["Really?", "\u2060 Yes!"])],
)
def test_a_sentence_of_invisible_characters_is_left_out(text, expected):
    assert split_sentences(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Great! 🎉 See you.", ["Great! 🎉", "See you."]),
        ("Hi. 😀 How are you? 👍", ["Hi. 😀", "How are you? 👍"]),
        ("Hi. 😀! Bye.", ["Hi. 😀!", "Bye."]),
        ("🎉 Wow. Nice.", ["🎉 Wow.", "Nice."]),
        ("👍 👍. 👍", ["👍 👍. 👍"]),
    ],
)
def test_emoji_after_a_sentence_end_belong_to_the_sentence_before(text, expected):
    assert split_sentences(text) == expected
