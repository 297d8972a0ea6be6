"""``translate --file`` and standard input: one output line per input line, written chunk by chunk in order,
as the lines arrive (a pipe that stalls is answered, not waited on)."""

import gzip
import io
import itertools
import subprocess
import sys
import threading
import time

import pytest
from processes import child_env

from transformer_tf.cli import main
from transformer_tf.errors import TransformerTFError
from transformer_tf.sentence_translator import SentenceTranslator, progress_bar
from transformer_tf.text import ArrivingLines, line_blocks, split_lines
from transformer_tf.translate_cli import BATCHES_PER_CHUNK

ODD = "One\u2028two\nThree\x85four\x0cfive\x0bsix\r\nSeven\rLast"  # 2028 LS, NEL, FF, VT, CRLF, CR


def test_lines_end_only_at_line_ends():
    assert split_lines(ODD) == ["One\u2028two", "Three\x85four\x0cfive\x0bsix", "Seven", "Last"]
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
    assert out == ["es:One\\u2028two", "es:Three\\x85four\\x0cfive\\x0bsix", "es:Seven", "es:Last", ""]


def test_a_long_file_is_written_chunk_by_chunk_in_input_order(fake, tmp_path, capsys):
    lines = [f"Sentence {i}" for i in range(5 * BATCHES_PER_CHUNK)]
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
    lines = [f"Sentence {i}" for i in range(5 * BATCHES_PER_CHUNK)]
    (tmp_path / "in.txt").write_text("\n".join(lines), encoding="utf-8")
    fake.stop_at_call = 3  # Ctrl-C while the third chunk is translated
    assert main(["translate", "--file", str(tmp_path / "in.txt"), "--batch-size", "2"]) == 130
    chunk = 2 * BATCHES_PER_CHUNK
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["es:" + line for line in lines[: 2 * chunk]]
    assert captured.err.strip().endswith("transformer-tf translate: interrupted")


def test_an_engine_decoding_in_the_background_gets_the_next_chunk_before_the_last_is_taken(capsys):
    translator = BackgroundTranslator()
    lines = [f"Sentence {i}." for i in range(5)]
    assert list(translator.translate_lines(lines, batch_size=1, chunk=2)) == [
        "es:" + line for line in lines
    ]  # the same as translate's, in order
    first_of_chunk = ["Sentence 0.", "Sentence 2.", "Sentence 4."]
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


def test_a_streams_progress_bar_counts_lines_with_no_total(monkeypatch):
    stderr = io.StringIO()
    stderr.isatty = lambda: True
    monkeypatch.setattr("sys.stderr", stderr)
    with progress_bar(None, True, unit="line") as bar:  # a pipe's lines: how many is not known
        bar.update(3)
    assert stderr.getvalue().rstrip("\n").rpartition("\r")[2].startswith("3line [")


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
    assert translator.translate_sentences(["A", "B", "A", "A"], progress=False) == ["es:A", "es:B", "es:A", "es:A"]
    assert translator.calls[-1][0] == 2


def test_lines_read_in_pieces_of_any_size_are_cut_as_the_whole_text_is():
    data = ("\ufeff" + ODD + "\n\n" + ODD).encode("utf-8")
    for size in (1, 2, 3, 7, 64, len(data)):
        reads = [data[i : i + size] for i in range(0, len(data), size)]
        lines = [line for block in line_blocks(reads, "x") for line in block]
        assert lines == split_lines(data.decode("utf-8-sig")), size


@pytest.mark.parametrize("size", [1, 5, 100])
def test_a_line_that_is_not_utf8_is_named_by_number_after_the_lines_before_it(size):
    data = "\ufeffok\nfine\ncafé au lait\nnever read\n".encode("utf-8").replace("é".encode(), b"\xe9")
    blocks = line_blocks([data[i : i + size] for i in range(0, len(data), size)], "--file in.txt")
    read = []
    with pytest.raises(TransformerTFError) as refused:
        for block in blocks:
            read += block
    assert read == ["ok", "fine"]
    assert str(refused.value).startswith("--file in.txt, line 3: not UTF-8 text (byte 0xe9 at offset 14)")


def test_a_gzip_file_is_named_as_gzip(fake, tmp_path, capsys):
    path = tmp_path / "in.txt.gz"
    path.write_bytes(gzip.compress(b"Hello.\n"))
    assert main(["translate", "--file", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"--file {path}, line 1: not UTF-8 text (byte 0x8b at offset 1); it is gzip-compressed" in err
    assert not fake.calls  # refused before anything was translated


def test_a_line_that_is_not_utf8_midway_ends_with_exit_2_after_the_lines_before_it_are_written(fake, tmp_path, capsys):
    (tmp_path / "in.txt").write_bytes(b"One.\nTwo.\nCaf\xe9.\nFour.\n")
    assert main(["translate", "--file", str(tmp_path / "in.txt")]) == 2
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["es:One.", "es:Two."]
    assert f"--file {tmp_path / 'in.txt'}, line 3: not UTF-8 text (byte 0xe9 at offset 13)" in captured.err


def _stalling_blocks(arrived, *blocks):
    """``blocks``, each after the one before it has been answered (``arrived`` set, then cleared): a
    co-process that writes a line and waits for its translation before it writes the next."""
    for i, block in enumerate(blocks):
        if i:
            assert arrived.wait(timeout=60), "the line before was not answered: the reader waited for more"
            arrived.clear()
        yield block


def test_arriving_lines_hand_out_what_has_arrived_and_wait_only_for_a_first_line():
    arrived = threading.Event()
    lines = ArrivingLines(_stalling_blocks(arrived, ["a"], ["b", "c"], ["d"]))
    assert lines.take(10) == ["a"]  # a partial chunk: the rest has not arrived
    assert lines.take(10, wait=False) is None  # nor a whole chunk: a caller with other work does it first
    arrived.set()
    assert lines.take(1) == ["b"] and lines.take(10) == ["c"]
    arrived.set()
    assert lines.take(10) == ["d"] and lines.take(10) == [] and lines.take(10, wait=False) == []


def test_a_source_that_stalls_gets_the_translation_of_each_line_before_it_sends_the_next(capsys):
    translator, arrived = BackgroundTranslator(), threading.Event()
    lines = ArrivingLines(_stalling_blocks(arrived, ["One."], ["Two.", "Three."], ["Four."]))
    answered = []
    for texts, translations in translator.translate_chunks(lines, batch_size=2, chunk=4):
        answered.append((texts, translations))
        arrived.set()
    assert answered == [
        (["One."], ["es:One."]),
        (["Two.", "Three."], ["es:Two.", "es:Three."]),
        (["Four."], ["es:Four."]),
    ]


def _translate_command(*flags):
    """``transformer-tf translate FLAGS`` on the shipped model, its input and output pipes of this process."""
    return subprocess.Popen(
        [sys.executable, "-m", "transformer_tf.cli", "translate", *flags],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(),
    )


def _wait_for(condition, child):
    deadline = time.monotonic() + 300  # generous: a wait (a first CTranslate2 conversion too), not a measurement
    while not condition() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.mark.slow
def test_a_program_that_writes_a_line_and_waits_gets_its_translation(capsys):
    sentences = ["I am here.", "", "Tom is tall.", "Where is the cat?"]
    child = _translate_command("--file", "-")
    answers = []
    reader = threading.Thread(target=lambda: answers.extend(iter(child.stdout.readline, b"")), daemon=True)
    reader.start()
    for written, sentence in enumerate(sentences, 1):
        child.stdin.write(sentence.encode() + b"\n")
        child.stdin.flush()  # the pipe stays open: the command must answer what has arrived
        _wait_for(lambda written=written: len(answers) == written, child)
        assert len(answers) == written, (answers, child.poll())
    child.stdin.close()
    assert child.wait(timeout=60) == 0
    reader.join(timeout=60)
    assert child.stderr.read().decode().endswith("1 empty input line(s): left empty in the output\n")
    for sentence, answer in zip(sentences, answers):  # each answer is the line's translation on its own
        capsys.readouterr()
        assert main(["translate", sentence]) == 0
        assert answer.decode() == capsys.readouterr().out


@pytest.mark.slow
def test_a_file_streamed_through_a_pipe_in_pieces_is_translated_as_the_whole_file_is(shared_data, tmp_path, capsys):
    """With ``--exact`` (float32, the whole vocabulary), a line's translation does not depend on the lines
    batched with it; the default engine's lexical shortlist is a batch's, so its chunks, whole or not, may
    choose other words (as they did before streaming, a chunk of a file against the file's next chunk)."""
    with open(shared_data / "spa-eng" / "spa.txt", encoding="utf-8") as corpus:
        english = [line.split("\t")[0] for line in itertools.islice(corpus, 0, None, 390)][:300]
    english[7] = english[50] = ""
    path = tmp_path / "in.txt"
    path.write_text("\n".join(english) + "\n", encoding="utf-8")
    flags = ["--batch-size", "8", "--engine", "tensorflow", "--exact"]
    capsys.readouterr()
    assert main(["translate", "--file", str(path), *flags]) == 0
    whole_file = capsys.readouterr().out

    data = path.read_bytes()
    first = data.index(b"\n") + 1
    child = _translate_command("--file", "-", *flags)
    streamed = []
    reader = threading.Thread(target=lambda: streamed.extend(iter(child.stdout.readline, b"")), daemon=True)
    reader.start()

    def write_in_pieces():  # the first line alone, answered; then pieces across lines and of many lines
        child.stdin.write(data[:first])
        child.stdin.flush()
        _wait_for(lambda: streamed, child)
        start = first
        for size in itertools.cycle([1, 90, 7, 2000, 300]):
            if start >= len(data):
                break
            child.stdin.write(data[start : start + size])
            child.stdin.flush()
            start += size
            time.sleep(0.02)  # the command takes what has arrived meanwhile: partial chunks
        child.stdin.close()

    writer = threading.Thread(target=write_in_pieces, daemon=True)
    writer.start()
    writer.join(timeout=600)
    assert child.wait(timeout=600) == 0, child.stderr.read().decode()
    reader.join(timeout=60)
    assert b"".join(streamed).decode() == whole_file and len(whole_file.splitlines()) == 300
