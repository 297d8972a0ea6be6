"""The one exception type for mistakes a user can make (bad input, missing files)."""


class LSTMTFError(Exception):
    """A problem the user can fix; the message says what was wrong and what to do.

    The ``lstm-tf`` command prints it without a traceback and exits with status 2.
    """
