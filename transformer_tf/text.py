"""One decoding policy for every text the package reads: strict UTF-8.

A corpus, a ``--pairs`` file, ``translate --file`` (or standard input) and sentences given
as command-line arguments all go through here. Anything that is not UTF-8 is refused with a
:class:`~transformer_tf.errors.TransformerTFError` naming the file or argument, the offending
byte and its position, instead of being guessed at. A UTF-8 byte-order mark is dropped.
"""

from pathlib import Path

from transformer_tf.errors import TransformerTFError

_FIX = "convert it to UTF-8 (e.g. iconv -f latin1 -t utf-8)"


def decode_utf8(data, where, offset=0):
    """``bytes`` → ``str``; ``where`` names the source in the message (``"--file notes.txt"``),
    ``offset`` is where ``data`` starts in it (a line of a file read line by line)."""
    try:
        return data.decode("utf-8-sig" if offset == 0 else "utf-8")
    except UnicodeDecodeError as err:
        raise TransformerTFError(
            f"{where}: not UTF-8 text (byte 0x{data[err.start]:02x} at offset {offset + err.start}); {_FIX}."
        ) from None


def read_text(path, where=None):
    """The whole file at ``path`` as text (``where`` defaults to the path)."""
    return decode_utf8(Path(path).read_bytes(), where or str(path))


def check_argument(text, where):
    """A command-line argument as text. Python keeps bytes that are not UTF-8 as lone
    surrogates (``surrogateescape``); those are refused here, as in a file."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        byte = ord(text[err.start]) - 0xDC00 if 0xDC80 <= ord(text[err.start]) <= 0xDCFF else None
        what = f"byte 0x{byte:02x}" if byte is not None else "a lone surrogate"
        raise TransformerTFError(
            f"{where}: not UTF-8 text ({what} at character {err.start}); {_FIX}, or use a UTF-8 terminal."
        ) from None
    return text
