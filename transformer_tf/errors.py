"""The one exception type for mistakes a user can make (bad input, missing files)."""


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
