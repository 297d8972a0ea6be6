"""The one exception type for mistakes a user can make (bad table, missing file, bad flag)."""


class PipelineError(Exception):
    """A problem the user can fix; the message says what was wrong and what to do.

    ``dm-pipeline`` prints it without a traceback and exits with status 2.
    """
