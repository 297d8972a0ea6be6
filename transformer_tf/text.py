"""One decoding policy for every text the package reads: strict UTF-8.

A corpus, a ``--pairs`` file, ``translate --file`` (or standard input) and sentences given
as command-line arguments all go through here. Anything that is not UTF-8 is refused with a
:class:`~transformer_tf.errors.TransformerTFError` naming the file or argument, the offending
byte and its position, instead of being guessed at. A UTF-8 byte-order mark is dropped.
A text of one sentence a line is cut into lines by :func:`split_lines` alone.
"""

import re
from pathlib import Path

from transformer_tf.errors import TransformerTFError

_FIX = "convert it to UTF-8 (e.g. iconv -f latin1 -t utf-8)"


def decode_utf8(data, where, offset=0):
    """``bytes`` → ``str``; ``where`` names the source in the message (``"--file notes.txt"``),
    ``offset`` is where ``data`` starts in it (a line of a file read line by line)."""
    try:
        return data.decode("utf-8-sig" if offset == 0 else "utf-8")
    except UnicodeDecodeError as err:
        utf16 = offset == 0 and data[:2] in (b"\xff\xfe", b"\xfe\xff")  # a UTF-16 (or 32) byte-order mark
        fix = "it is UTF-16: convert it to UTF-8 (e.g. iconv -f utf-16 -t utf-8)" if utf16 else _FIX
        raise TransformerTFError(
            f"{where}: not UTF-8 text (byte 0x{data[err.start]:02x} at offset {offset + err.start}); {fix}."
        ) from None


# Line ends as Python's open() reads text: "\r\n", "\n" or a lone "\r" (an old Mac file).
_LINE_END = re.compile(r"\r\n|\n|\r")


def split_lines(text):
    r"""The lines of a text of one item a line, without their line ends: one per input line.

    Unlike ``str.splitlines``, a line ends only at ``"\n"``, ``"\r\n"`` or ``"\r"``:
    U+2028 LINE SEPARATOR, U+0085 NEXT LINE, a form feed or a vertical tab inside a line keep
    it one line, so outputs line up with inputs. A last line ending in a line end gives no
    extra empty line; an empty text no line.
    """
    lines = _LINE_END.split(text)
    return lines[:-1] if lines[-1] == "" else lines


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
