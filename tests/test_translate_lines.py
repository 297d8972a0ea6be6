"""``translate --file`` and standard input: one output line per input line, written chunk by chunk in order."""

import io
import sys

import pytest

from transformer_tf.cli import main
from transformer_tf.sentence_translator import SentenceTranslator, progress_bar
from transformer_tf.text import split_lines
from transformer_tf.translate_cli import BATCHES_PER_CHUNK

ODD = "one\u2028two\nthree\x85four\x0cfive\x0bsix\r\nseven\rlast"  # 2028 LS, NEL, FF, VT, CRLF, CR


def test_lines_end_only_at_line_ends():
    assert split_lines(ODD) == ["one\u2028two", "three\x85four\x0cfive\x0bsix", "seven", "last"]
    assert split_lines("a\n\nb\n") == ["a", "", "b"] and split_lines("") == [] and split_lines("\n") == [""]


class FakeTranslator(SentenceTranslator):
    """Stands in for a restored model: "es:" + the input's escaped text; records each decoding
    (sentences, lines already on standard output, progress)."""

    places = False

    def __init__(self, stop_at_call=None):
        self.stop_at_call, self.calls = stop_at_call, []

    def _decode_sentences(self, sentences, batch_size, beam, progress):
        self.calls.append((len(sentences), sys.stdout.getvalue().count("\n"), progress))  # capsys's stdout
        if len(self.calls) == self.stop_at_call:
            raise KeyboardInterrupt
        return ["es:" + t.encode("unicode_escape").decode() for t in sentences]


class BackgroundTranslator(FakeTranslator):
    """A fake engine that decodes in the background, as CTranslate2: records when each chunk is
    handed over (``start``) and when its result is taken (``finish``)."""

    def __init__(self):
        super().__init__()
        self.events = []

    def _start_decode(self, sentences, batch_size, beam, progress):
        self.events.append(("start", sentences[0]))
        decoded = self._decode_sentences(sentences, batch_size, beam, progress)
        return lambda: self.events.append(("finish", sentences[0])) or decoded


@pytest.fixture
def fake(monkeypatch, capsys):
    """The fake translator that ``translate`` opens (either engine); standard output captured by ``capsys``."""
    translator = FakeTranslator()
    monkeypatch.setattr("transformer_tf.engines.open_translator", lambda *a, **k: translator)
    return translator


@pytest.mark.parametrize("source", ["file", "stdin"])
def test_one_output_line_per_input_line_whatever_unicode_line_breaks_a_line_holds(
    source, fake, tmp_path, monkeypatch, capsys
):
    data = ("\ufeff" + ODD + "\n").encode("utf-8")
    if source == "file":
        (tmp_path / "in.txt").write_bytes(data)
        where = str(tmp_path / "in.txt")
    else:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
        where = "-"
    assert main(["translate", "--file", where]) == 0
    out = capsys.readouterr().out.split("\n")
    assert out == ["es:one\\u2028two", "es:three\\x85four\\x0cfive\\x0bsix", "es:seven", "es:last", ""]


def test_a_long_file_is_written_chunk_by_chunk_in_input_order(fake, tmp_path, capsys):
    lines = [f"sentence {i}" for i in range(5 * BATCHES_PER_CHUNK)]
    (tmp_path / "in.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["translate", "--file", str(tmp_path / "in.txt"), "--batch-size", "2"]) == 0
    chunk = 2 * BATCHES_PER_CHUNK
    # each chunk is translated once the ones before it are written, without a progress bar of its own
    assert fake.calls == [(chunk, 0, False), (chunk, chunk, False), (len(lines) - 2 * chunk, 2 * chunk, False)]
    assert capsys.readouterr().out.splitlines() == ["es:" + line for line in lines]


def test_the_blank_lines_of_a_text_with_paragraphs_are_one_warning(fake, tmp_path, capsys):
    (tmp_path / "in.txt").write_text("First.\n\nSecond.\n   \nThird.\n\n", encoding="utf-8")
    assert main(["translate", "--file", str(tmp_path / "in.txt")]) == 0
    captured = capsys.readouterr()
    assert captured.out.split("\n") == ["es:First.", "", "es:Second.", "", "es:Third.", "", ""]
    assert captured.err == "transformer-tf translate: 3 empty input line(s): left empty in the output\n"


def test_a_line_of_invisible_characters_is_counted_with_the_empty_ones(fake, tmp_path, capsys):
    # the translators leave it empty (sentences.is_blank); the warning counted only white space
    (tmp_path / "in.txt").write_text("First.\n\u2060\u200b\nSecond.\n", encoding="utf-8")
    assert main(["translate", "--file", str(tmp_path / "in.txt")]) == 0
    captured = capsys.readouterr()
    assert captured.out.split("\n") == ["es:First.", "", "es:Second.", ""]
    assert captured.err == "transformer-tf translate: 1 empty input line(s): left empty in the output\n"


def test_a_job_stopped_midway_keeps_every_finished_chunk(fake, tmp_path, capsys):
    lines = [f"sentence {i}" for i in range(5 * BATCHES_PER_CHUNK)]
    (tmp_path / "in.txt").write_text("\n".join(lines), encoding="utf-8")
    fake.stop_at_call = 3  # Ctrl-C while the third chunk is translated
    assert main(["translate", "--file", str(tmp_path / "in.txt"), "--batch-size", "2"]) == 130
    chunk = 2 * BATCHES_PER_CHUNK
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["es:" + line for line in lines[: 2 * chunk]]
    assert captured.err.strip().endswith("transformer-tf translate: interrupted")


def test_an_engine_decoding_in_the_background_gets_the_next_chunk_before_the_last_is_taken(capsys):
    translator = BackgroundTranslator()
    lines = [f"sentence {i}." for i in range(5)]
    assert list(translator.translate_lines(lines, batch_size=1, chunk=2)) == [
        "es:" + line for line in lines
    ]  # the same as translate's, in order
    first_of_chunk = ["sentence 0.", "sentence 2.", "sentence 4."]
    assert translator.events == [
        ("start", first_of_chunk[0]),
        ("start", first_of_chunk[1]),  # handed over while the first chunk decodes
        ("finish", first_of_chunk[0]),
        ("start", first_of_chunk[2]),
        ("finish", first_of_chunk[1]),
        ("finish", first_of_chunk[2]),
    ]


@pytest.mark.parametrize("terminal", [True, False])
def test_a_progress_bar_is_drawn_only_on_a_terminal_and_only_when_asked(terminal, monkeypatch):
    for show in (True, False):
        stderr = io.StringIO()
        stderr.isatty = lambda: terminal
        monkeypatch.setattr("sys.stderr", stderr)
        with progress_bar(3, show, unit="line") as bar:
            bar.update(3)
        assert ("3/3" in stderr.getvalue()) == (terminal and show)


def test_a_repeated_sentence_is_decoded_once_and_every_copy_gets_its_translation_in_order(capsys):
    translator = FakeTranslator()
    texts = ["Hi. Go.", "Go.", "Hi.", "Stop.", "Go. Hi."]
    assert translator.translate(texts, progress=False) == [
        "es:Hi. es:Go.",
        "es:Go.",
        "es:Hi.",
        "es:Stop.",
        "es:Go. es:Hi.",
    ]
    assert [n for n, _, _ in translator.calls] == [3]  # Hi., Go., Stop.: each once
    assert translator.translate_sentences(["a", "b", "a", "a"], progress=False) == ["es:a", "es:b", "es:a", "es:a"]
    assert translator.calls[-1][0] == 2
