"""One decoding policy for every text the package reads: strict UTF-8.

A corpus, a ``--pairs`` file, ``translate --file`` (or standard input) and sentences given
as command-line arguments all go through here. Anything that is not UTF-8 is refused with a
:class:`~transformer_tf.errors.TransformerTFError` naming the file or argument, the offending
byte and its position, instead of being guessed at. A UTF-8 byte-order mark is dropped.
A text of one sentence a line is cut into lines by :func:`split_lines` alone; one that arrives
over time (a pipe, a file of millions of lines) by :func:`line_blocks`, as it arrives, and
:class:`ArrivingLines` hands those lines on in chunks without waiting on a source that stalls.
"""

import codecs
import collections
import re
import threading
from pathlib import Path

from transformer_tf.errors import TransformerTFError

_FIX = "convert it to UTF-8 (e.g. iconv -f latin1 -t utf-8)"
_GZIP_MAGIC = b"\x1f\x8b"


def decode_utf8(data, where, offset=0):
    """``bytes`` → ``str``; ``where`` names the source in the message (``"--file notes.txt"``),
    ``offset`` is where ``data`` starts in it (a line of a file read line by line)."""
    bom = _bom_length(data, offset)
    try:
        return data[bom:].decode("utf-8")
    except UnicodeDecodeError as err:
        position = bom + err.start
        fix = _FIX
        if offset == 0 and data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # a UTF-16 (or 32) byte-order mark
            fix = "it is UTF-16: convert it to UTF-8 (e.g. iconv -f utf-16 -t utf-8)"
        elif offset == 0 and data[:2] == _GZIP_MAGIC:
            fix = "it is gzip-compressed: decompress it first (e.g. gunzip -k FILE)"
        raise TransformerTFError(
            f"{where}: not UTF-8 text (byte 0x{data[position]:02x} at offset {offset + position}); {fix}."
        ) from None


def _bom_length(data, offset):
    """The bytes of a UTF-8 byte-order mark that ``data`` starts with, if it starts the text (``offset`` 0)."""
    return len(codecs.BOM_UTF8) if offset == 0 and data.startswith(codecs.BOM_UTF8) else 0


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


def line_blocks(reads, where):
    """The lines of a byte stream as they arrive, decoded as :func:`decode_utf8` and cut as
    :func:`split_lines` would cut the whole text: a list of lines per read that ends one or more
    lines (the last, unended line once the stream ends).

    ``reads``: the stream's reads (bytes: part of a line, a line or many; an iterable), e.g.
    ``iter(functools.partial(os.read, fd, 65536), b"")``. ``where`` names the source; a line
    that is not UTF-8 is refused naming its number (lines counted at ``"\\n"``) and its byte
    offset, after the lines before it have been yielded. Memory holds one read and one line.
    """
    unended, offset, number = [], 0, 0  # the bytes of the line not yet ended; where the next block starts
    for data in reads:
        end = data.rfind(b"\n") + 1
        if not end:
            unended.append(data)
            continue
        block = b"".join([*unended, data[:end]])
        unended = [data[end:]] if end < len(data) else []
        yield from _block_lines(block, where, offset, number)
        offset, number = offset + len(block), number + block.count(b"\n")
    if unended:
        yield from _block_lines(b"".join(unended), where, offset, number)


def _block_lines(block, where, offset, number):
    """:func:`line_blocks`' lines of ``block``: whole lines of the stream (the last may be unended, at its
    end) from byte ``offset`` on, after ``number`` lines. Not UTF-8: the lines before the bad one
    first, then the error naming it."""
    bom = _bom_length(block, offset)
    try:
        text = block[bom:].decode("utf-8")
    except UnicodeDecodeError as err:
        start = block.rfind(b"\n", 0, bom + err.start) + 1  # where the line with the bad byte starts
        if start:
            yield from _block_lines(block[:start], where, offset, number)
        bad = number + block.count(b"\n", 0, start) + 1
        decode_utf8(block[start:], f"{where}, line {bad:,}", offset + start)  # raises, naming the line
        raise
    yield split_lines(text)


class ArrivingLines:
    """The lines of ``blocks`` (lists of lines, as :func:`line_blocks` yields them), handed out in
    order, a chunk at a time (:meth:`take`).

    ``background=True``, for a source that may stall (a pipe, a terminal, a FIFO): a thread of its
    own reads ``blocks`` as they arrive, up to ``limit`` lines ahead of the taker (memory stays
    bounded), so that :meth:`take` hands out what has arrived instead of waiting for a chunk to
    fill. ``background=False``, for a file on disk (its reads do not stall): ``blocks`` are read
    by :meth:`take` itself, a whole chunk each time. A problem in ``blocks`` (a line that is not
    UTF-8) is raised by :meth:`take` once every line before it has been taken.
    """

    def __init__(self, blocks, limit=1024, background=True):
        self._blocks, self._limit, self._background = iter(blocks), limit, background
        self._lines = collections.deque()
        self._ended, self._error = False, None  # blocks exhausted; the exception that ended them
        self._changed = threading.Condition()  # guards the three above
        if background:  # a daemon: a reader blocked on a silent pipe does not keep the process alive
            threading.Thread(target=self._read_ahead, name="arriving-lines", daemon=True).start()

    def read_ahead(self, limit):
        """Let the reader get up to ``limit`` lines ahead (never fewer than before)."""
        with self._changed:
            self._limit = max(self._limit, limit)
            self._changed.notify_all()

    def wait_first(self):
        """Wait for the first line (or the end); raises the source's problem if it comes first."""
        if not self._background:
            self._read_block()
        with self._changed:
            while not self._lines and not self._ended:
                self._changed.wait()
            if not self._lines and self._error is not None:
                raise self._error

    def take(self, most, wait=True):
        """Up to ``most`` lines, in order; ``[]`` once all are taken.

        ``wait``: wait while no line has arrived, then take what has (a partial chunk, down to one
        line, from a source that stalls). Without ``wait``: ``None`` unless ``most`` lines (or all
        the rest) have arrived; a caller with other work (a chunk decoding) does it first. The
        source's problem is raised by the first call with ``wait`` after its last line is taken.
        """
        if not self._background:
            while len(self._lines) < most and self._read_block():
                pass
        with self._changed:
            if wait:
                while not self._lines and not self._ended:
                    self._changed.wait()
            elif len(self._lines) < most and not self._ended:
                return None
            taken = [self._lines.popleft() for _ in range(min(most, len(self._lines)))]
            self._changed.notify_all()
            if not taken and self._error is not None:
                if not wait:  # the work in hand first (the chunk decoding is written out), then the problem
                    return None
                raise self._error
        return taken

    def _read_ahead(self):
        """The reader thread: a block at a time, while fewer than ``limit`` lines wait to be taken."""
        while True:
            with self._changed:
                while len(self._lines) >= self._limit:
                    self._changed.wait()
            if not self._read_block():
                return

    def _read_block(self):
        """Read one block into the lines (the lock is not held while it is read); False at the end."""
        if self._ended:
            return False
        block, error = None, None
        try:
            block = next(self._blocks)
        except StopIteration:
            pass
        except Exception as err:  # the taker raises it, in its place among the lines
            error = err
        with self._changed:
            if block is None:
                self._ended, self._error = True, error
            else:
                self._lines.extend(block)
            self._changed.notify_all()
        return block is not None


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
