"""The one exception type for mistakes a user can make (bad input, missing files)."""

import re


class TransformerTFError(Exception):
    """A problem the user can fix; the message says what was wrong and what to do.

    The CLI prints it without a traceback and exits with status 2.
    """


def error_line(err, limit=200):
    """``"Type: first line of the message"`` of an exception, cut at ``limit`` characters.

    TensorFlow's ``OpError`` keeps its message in ``.message`` and often runs to many lines
    of op context; a user needs the type and the first line.
    """
    message = getattr(err, "message", None)
    message = message if isinstance(message, str) else str(err)
    return f"{type(err).__name__}: {(message.splitlines() or [''])[0][:limit]}"


def os_cause(err):
    """What an ``OSError`` or a TensorFlow ``OpError`` says went wrong, with its cause kept:
    ``"No space left on device: /x/model.index"`` (TensorFlow writes the cause after the file
    name, which a first line cut at a length would lose)."""
    if isinstance(err, OSError) and err.strerror:
        return f"{err.strerror}: {err.filename}" if err.filename else err.strerror
    message = getattr(err, "message", None)
    message = message if isinstance(message, str) else str(err)
    message = re.sub(r"\{\{[^}]*\}\}\s*|\s*\[Op:\w+\]", "", message)  # TensorFlow's op context
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return "; ".join(lines[:3])[:600] or type(err).__name__
