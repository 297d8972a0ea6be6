"""The one command-line convention of ``transformer-tf``, ``lstm-tf``, ``dm-pipeline`` and ``bench/``.

Reading order:
    run                    parse, run the sub-command's handler, map what went wrong to an exit status
    parameters_as_flags    a library's message, its parameter names (batch_size) written as flags (--batch-size)
    add_config_flags       one flag per field of a config dataclass; the help shows each default once
    given_fields           the fields whose flags were given; config_from_args applies them to a start config
    seed_problem           the one seed rule (0 .. 2**32 - 1) that every package's config applies
    UserError              the base of each package's error type; ``parameter`` names what to fix
    quiet_tensorflow       hide TensorFlow's start-up logs; every entry point calls it before TensorFlow loads

Why it is a package of its own: ``pipeline`` and ``transformer_tf`` share this convention with
``lstm_tf``, and none of them should depend on another package's internals to get it. This
package imports nothing of the project itself, so every package can import it without a cycle.

Exit statuses: 0 done; 2 a problem the user can fix (the package's error type, an ``OSError``
such as an unwritable ``--out``, or a bad flag: argparse prints the usage); 130 Ctrl-C; 141, and
no message, when the reader of the output leaves early (``dm-pipeline predict ... | head``).
No traceback for any of them: the message names the problem and the fix.
"""

import argparse
import contextlib
import dataclasses
import os
import re
import signal
import sys
import types
import typing
import warnings

EXIT_BROKEN_PIPE = 128 + 13  # 128 + SIGPIPE: what a shell reports for `cat big | head`
SEED_LIMIT = 2**32  # NumPy, scikit-learn, Optuna and keras.utils.set_random_seed accept 0 .. 2**32 - 1


def seed_problem(seed, name="seed"):
    """The one seed rule of every package: ``None`` when ``seed`` is a whole number in 0 .. 2**32 - 1.

    Otherwise a sentence naming ``name`` (a parameter's name in a library, a flag in a command)
    and the range; each package's config raises it as that package's error type.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < SEED_LIMIT:
        return f"{name} {seed!r}: give a whole number from 0 to 2**32 - 1"
    return None


def quiet_tensorflow(verbose=False):
    """Hide TensorFlow's start-up and informational logs, unless ``verbose`` or the user chose a level.

    Sets ``TF_CPP_MIN_LOG_LEVEL=3`` (C++ logs below FATAL; a real failure still reaches Python
    as an exception) and absl's Python logging to ERROR; an entry point calls it before its
    first ``import tensorflow``, since TensorFlow reads the level once, when it loads. With
    ``TF_CPP_MIN_LOG_LEVEL`` already in the environment, or ``verbose``, nothing changes.
    Calling it twice is the same as once. Caveat measured with TensorFlow 2.21: the few lines
    its XLA runtime logs through absl before ``absl::InitializeLog`` (oneDNN, cudart stub)
    print whatever the level.

    absl's level is set now if absl is loaded, else by :func:`import_tensorflow_quietly` once it is:
    importing ``absl.logging`` (and with it ``absl.flags``) took 35-50 ms, a fifth of a one-sentence
    ``translate`` on CTranslate2, which never loads TensorFlow nor absl.
    """
    global _quiet_absl
    if verbose or "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    _quiet_absl = True
    _set_absl_level()


_quiet_absl = False  # quiet_tensorflow chose absl's ERROR level


def _set_absl_level():
    """absl's Python logging to ERROR where :func:`quiet_tensorflow` chose it and absl is loaded."""
    if _quiet_absl and "absl.logging" in sys.modules:
        from absl import logging as absl_logging  # loaded: no import cost

        absl_logging.set_verbosity(absl_logging.ERROR)


def import_tensorflow_quietly():
    """Import TensorFlow now, with the process's standard error (file descriptor 2) muted while it loads,
    where the log level is 3 (:func:`quiet_tensorflow`'s, or the user's own).

    TensorFlow 2.21 logs a few start-up lines ("oneDNN custom operations are on", "Could not find
    cuda drivers", absl's "before absl::InitializeLog()") before absl's logging is set up, and
    those ignore ``TF_CPP_MIN_LOG_LEVEL``; they print during ``import tensorflow`` and never after.
    A handler that needs TensorFlow calls this first. An import that fails still raises, and its
    traceback prints once standard error is back. With ``--verbose`` or a lower level: a plain import.
    Then absl's Python logging gets the level :func:`quiet_tensorflow` chose (TensorFlow loads absl).
    """
    try:
        if "tensorflow" not in sys.modules:
            _import_tensorflow()
    finally:
        _set_absl_level()


def _import_tensorflow():
    """``import tensorflow``, muted as :func:`import_tensorflow_quietly` says."""
    with _keras_without_unused_extras():
        if os.environ.get("TF_CPP_MIN_LOG_LEVEL") != "3":
            import tensorflow  # noqa: F401

            return
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 2)
                import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)


#: Optional integrations that Keras imports while TensorFlow loads, and no command here uses:
#: scikit-learn (and SciPy) for ``keras.wrappers.SKLearnClassifier`` & co., matplotlib's pyplot
#: for ``keras.visualization``. (pandas, also optional, stays: Keras' ``fit`` uses it to read
#: DataFrames.)
KERAS_EXTRAS_NOT_USED = ("sklearn", "matplotlib")


@contextlib.contextmanager
def _keras_without_unused_extras():
    """While TensorFlow loads, let Keras find none of :data:`KERAS_EXTRAS_NOT_USED` that
    nothing has imported yet.

    ``import tensorflow`` imports Keras 3, and Keras tries to import each of those for
    features this project does not use; together they were about a fifth of ``import
    tensorflow``'s CPU time on the project's machine (5.8 → 4.6 CPU-seconds, ``/usr/bin/time``,
    3 runs each). Keras records a module whose import fails as absent, and a ``None`` in
    ``sys.modules`` makes the import fail. The entries are removed afterwards, so a later
    ``import sklearn`` (``dm-pipeline``, the grouped split of ``transformer-tf train``) or
    ``import matplotlib.pyplot`` (the plots) loads it as usual; only those Keras features stay
    off in this process. A module imported before keeps everything as it was.
    """
    hidden = [name for name in KERAS_EXTRAS_NOT_USED if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None
    try:
        yield
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def _figures_to_files():
    """Matplotlib's Agg backend: every command writes figures as files (no window, no display).

    Through ``MPLBACKEND``, which Matplotlib reads when it loads, so that a command that draws
    nothing never imports it (and Keras, loading with TensorFlow, does not find it:
    :data:`KERAS_EXTRAS_NOT_USED`); where Matplotlib is already loaded, ``matplotlib.use``.
    """
    if "matplotlib" in sys.modules:
        sys.modules["matplotlib"].use("Agg")
    else:
        os.environ["MPLBACKEND"] = "Agg"


def add_verbose_flag(parser):
    """``--verbose``: keep TensorFlow's start-up and informational logs (see :func:`quiet_tensorflow`)."""
    parser.add_argument(
        "--verbose", action="store_true", default=argparse.SUPPRESS, help="show TensorFlow's start-up logs"
    )


class UserError(Exception):
    """A problem the user can fix; each package's error type derives from it.

    ``parameter``: the library parameter the message starts with (``"seed"``), where one is
    to blame; :func:`run` shows it as the command's flag (``--seed``).
    """

    def __init__(self, message, parameter=None):
        super().__init__(message)
        self.parameter = parameter


def flag_message(err, flags=None):
    """``err``'s message with its leading parameter name written as a flag: ``seed 5: ...`` → ``--seed 5: ...``.

    ``flags``: ``{parameter: flag}`` where the flag is not ``--`` + the parameter with dashes.
    """
    text, parameter = str(err), getattr(err, "parameter", None)
    if not parameter or not text.startswith(parameter):
        return text
    flag = (flags or {}).get(parameter, "--" + parameter.replace("_", "-"))
    return flag + text[len(parameter) :]


def describe_os_error(err):
    """An ``OSError`` in words: ``'Permission denied: out.csv'``; pandas raises some with only a message."""
    return f"{err.strerror}: {err.filename}" if err.strerror and err.filename else str(err)


def run(parser, argv, error_type, flags=None):
    """Parse ``argv`` and call ``args.handler(args)`` under the convention; returns the exit status.

    ``parser`` has sub-commands (``dest="command"``) whose parsers set ``handler``; it may be
    given as the function that builds it, so that a Ctrl-C while it is built is caught too.
    ``error_type`` is the package's exception for problems the user can fix; its message names
    a parameter as the flag (:func:`flag_message`, ``flags`` passed on). Warnings print as one
    line, ``PROG: warning: MESSAGE``, while the handler runs; figures go to files (Agg backend).
    A bad flag makes argparse print the usage and exit 2 (``SystemExit``), as argparse always does.
    Ctrl-C at any point, from start-up (imports of NumPy, Matplotlib, TensorFlow) to the end,
    prints ``PROG COMMAND: interrupted`` and returns 130, with no traceback.
    """
    where = getattr(parser, "prog", None) or os.path.basename(sys.argv[0])
    interrupts = _Interrupts()
    previous = signal.signal(signal.SIGINT, interrupts)
    try:
        argv = sys.argv[1:] if argv is None else list(argv)
        quiet_tensorflow(verbose="--verbose" in argv)  # before anything loads TensorFlow
        parser = parser if isinstance(parser, argparse.ArgumentParser) else parser()
        where = parser.prog
        _figures_to_files()
        args = parser.parse_args(argv)
        where = f"{parser.prog} {args.command}"
        return _run_handler(parser, args, where, error_type, flags)
    except KeyboardInterrupt:  # Ctrl-C; a killed training run or study resumes where it stopped
        print(f"{where}: interrupted", file=sys.stderr)
        return 130
    except Exception:
        if not interrupts.seen:
            raise
        # Ctrl-C inside a C extension's import comes out as another error (NumPy: "ImportError:
        # PyCapsule_Import could not import module 'datetime'"): still an interruption.
        print(f"{where}: interrupted", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, previous)


class _Interrupts:
    """A SIGINT handler that raises ``KeyboardInterrupt``, as Python's own does, and remembers that it did."""

    seen = False

    def __call__(self, signum, frame):
        self.seen = True
        raise KeyboardInterrupt


def _run_handler(parser, args, where, error_type, flags):
    """``args.handler(args)`` with brief warnings; the package's errors and ``OSError`` as exit status 2."""
    with warnings.catch_warnings():  # the caller's warning display comes back afterwards

        def warn_briefly(message, category, filename, lineno, file=None, line=None):
            print(f"{parser.prog}: warning: {message}", file=sys.stderr)  # the message, not our source line

        warnings.showwarning = warn_briefly
        try:
            return args.handler(args) or 0
        except error_type as err:
            message = parameters_as_flags(flag_message(err, flags), _subcommand_parser(parser, args.command))
            print(f"{where}: error: {message}", file=sys.stderr)
            return 2
        except BrokenPipeError:  # the reader left (`| head`): nothing is wrong, as with cat
            _stdout_to_devnull()
            return EXIT_BROKEN_PIPE
        except OSError as err:  # unwritable --out, full disk: the user's to fix, not a crash
            print(f"{where}: error: {describe_os_error(err)}", file=sys.stderr)
            return 2


def _stdout_to_devnull():
    """Point file descriptor 1 at /dev/null, so that the interpreter's last flush of ``sys.stdout``,
    at exit, does not fail on the closed pipe again ("Exception ignored ... BrokenPipeError")."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by a stream without one (a test's capture)
        return
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, descriptor)
    os.close(null)


def _subcommand_parser(parser, command):
    """The parser of sub-command ``command`` (argparse keeps it in the sub-parsers action's choices)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[command]
    return parser


def parameters_as_flags(message, parser):
    """A library's message in the command line's words: each parameter that is a flag of ``parser``
    (an option whose ``dest`` it is) is written as that flag.

    A name counts where the message writes it as code: followed by ``=`` (``beam=0`` → ``--beam 0``,
    ``tokenizer='joint'`` → ``--tokenizer joint``, ``share_embeddings=False`` →
    ``--no-share-embeddings``), holding an underscore (``batch_size`` → ``--batch-size``), or opening
    a problem (at the start, or after ``"; "``: ``seed -1: ...`` → ``--seed -1: ...``); ``force=True``
    of a switch is the switch alone (``--force``).
    """
    flags, switches = {}, set()
    for action in parser._actions:
        longs = [o for o in action.option_strings if o.startswith("--")]
        if longs:
            flags.setdefault(action.dest, longs)
        if action.nargs == 0:  # store_true, --flag/--no-flag: the flag alone says True
            switches.add(action.dest)
    for name in sorted(flags, key=len, reverse=True):
        flag, negative = flags[name][0], next((o for o in flags[name] if o.startswith("--no-")), None)

        def assigned(match, flag=flag, negative=negative, switch=name in switches):
            value = match.group(1).strip("'\"")
            if switch and value == "True":
                return flag
            if switch and value == "False" and negative:
                return negative
            return f"{flag} {value}"

        free = r"(?<![\w./-])"
        message = re.sub(free + re.escape(name) + r"=('[^']*'|\"[^\"]*\"|[^\s,;:)]+)", assigned, message)
        head = "" if "_" in name else r"(?:^|(?<=; ))"
        message = re.sub(head + free + re.escape(name) + r"(?![\w/=-])", flag, message)
    return message


def _flag_type(annotation):
    """``int`` of ``int``, ``int | None`` and ``Optional[int]``."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation


def add_config_flags(parser, config_class, starts, *, only=None, names=None, choices=None, helps=None):
    """Add one flag per field of the dataclass ``config_class``: ``num_layers`` → ``--num-layers``.

    A boolean field gets ``--flag``/``--no-flag``. A flag not given is absent from the parsed
    arguments (``argparse.SUPPRESS``), so :func:`config_from_args` keeps the start config's value.

    Parameters:
        starts: ``{label: instance}``, the configs a run may start from; the help shows each
            field's value once: ``(default 4)`` where all agree, else ``(default 96; blog 40)``.
        only: the field names to expose (default: all fields).
        names: ``{field: flag name}`` where the flag is not the field's name (``use_lda`` → ``lda``).
        choices, helps: ``{field: ...}`` for argparse's ``choices`` and the text before the defaults.
    """
    hints = typing.get_type_hints(config_class)
    names, choices, helps = names or {}, choices or {}, helps or {}
    for field in dataclasses.fields(config_class):
        if only is not None and field.name not in only:
            continue
        flag = "--" + names.get(field.name, field.name).replace("_", "-")
        values = {label: getattr(start, field.name) for label, start in starts.items()}
        if len(set(map(repr, values.values()))) == 1:
            shown = f"default {next(iter(values.values()))}"
        else:
            shown = "; ".join(f"{label} {value}" for label, value in values.items())
        text = f"{helps[field.name]} ({shown})" if field.name in helps else f"({shown})"
        text = text.replace("%", "%%")  # argparse formats help with %
        common = dict(dest=field.name, default=argparse.SUPPRESS, help=text)
        if hints[field.name] is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, **common)
        else:
            kind = _flag_type(hints[field.name])
            parser.add_argument(flag, type=kind, choices=choices.get(field.name), **common)


def given_fields(args, config_class, only=None):
    """``{field: value}`` of the fields of ``config_class`` whose flags were given in ``args``.

    ``only``: the fields :func:`add_config_flags` exposed, where other flags share a field's name.
    """
    return {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(config_class)
        if hasattr(args, f.name) and (only is None or f.name in only)
    }


def config_from_args(args, start):
    """``start`` (a config dataclass instance) with the values of the flags given in ``args``."""
    return dataclasses.replace(start, **given_fields(args, type(start)))
