"""The one exception type for mistakes a user can make (bad input, missing files)."""

from cli_common import UserError


class LSTMTFError(UserError):
    """A problem the user can fix; the message says what was wrong and what to do.

    ``parameter``: the parameter the message starts with, where one is to blame. The
    ``lstm-tf`` command prints it (the parameter as its flag) without a traceback and exits
    with status 2.
    """
