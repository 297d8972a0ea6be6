"""The one command-line convention of ``transformer-tf``, ``lstm-tf``, ``dm-pipeline`` and ``bench/``.

Reading order:
    run                    parse, run the sub-command's handler, map what went wrong to an exit status
    parameters_as_flags    a library's message, its parameter names (batch_size) written as flags (--batch-size)
    add_config_flags       one flag per field of a config dataclass; the help shows each default once
    given_fields           the fields whose flags were given; config_from_args applies them to a start config
    deprecated_alias       an old flag spelling that still works for one release and says so

Why it is a package of its own: ``pipeline`` and ``transformer_tf`` share this convention with
``lstm_tf``, and none of them should depend on another package's internals to get it. This
package imports nothing of the project itself, so every package can import it without a cycle.

Exit statuses: 0 done; 2 a problem the user can fix (the package's error type, an ``OSError``
such as an unwritable ``--out``, or a bad flag: argparse prints the usage); 130 Ctrl-C.
No traceback for any of them: the message names the problem and the fix.
"""

import argparse
import dataclasses
import os
import re
import sys
import types
import typing
import warnings

SEED_LIMIT = 2**32  # NumPy, scikit-learn, Optuna and keras.utils.set_random_seed accept 0 .. 2**32 - 1


def seed_problem(seed, name="seed"):
    """The one seed rule of every package: ``None`` when ``seed`` is a whole number in 0 .. 2**32 - 1.

    Otherwise a sentence naming ``name`` (a parameter's name in a library, a flag in a command)
    and the range; each package's config raises it as that package's error type.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < SEED_LIMIT:
        return f"{name} {seed!r}: give a whole number from 0 to 2**32 - 1"
    return None


def quiet_tensorflow():
    """Hide TensorFlow's informational start-up lines (``TF_CPP_MIN_LOG_LEVEL=2``) unless the user chose a level.

    Only what TensorFlow logs after this call is affected: where the command's package imported
    TensorFlow before ``main`` ran, its start-up lines are already printed.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def describe_os_error(err):
    """An ``OSError`` in words: ``'Permission denied: out.csv'``; pandas raises some with only a message."""
    return f"{err.strerror}: {err.filename}" if err.strerror and err.filename else str(err)


def run(parser, argv, error_type):
    """Parse ``argv`` and call ``args.handler(args)`` under the convention; returns the exit status.

    ``parser`` has sub-commands (``dest="command"``) whose parsers set ``handler``; ``error_type``
    is the package's exception for problems the user can fix. Warnings print as one line,
    ``PROG: warning: MESSAGE``, while the handler runs; figures go to files (Agg backend).
    A bad flag makes argparse print the usage and exit 2 (``SystemExit``), as argparse always does.
    """
    import matplotlib

    quiet_tensorflow()
    matplotlib.use("Agg")  # every command writes figures as files: no window, no display needed
    args = parser.parse_args(argv)
    where = f"{parser.prog} {args.command}"
    with warnings.catch_warnings():  # the caller's warning display comes back afterwards

        def warn_briefly(message, category, filename, lineno, file=None, line=None):
            print(f"{parser.prog}: warning: {message}", file=sys.stderr)  # the message, not our source line

        warnings.showwarning = warn_briefly
        try:
            return args.handler(args) or 0
        except error_type as err:
            print(f"{where}: error: {err}", file=sys.stderr)
            return 2
        except OSError as err:  # unwritable --out, full disk: the user's to fix, not a crash
            print(f"{where}: error: {describe_os_error(err)}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:  # Ctrl-C; a killed training run or study resumes where it stopped
            print(f"{where}: interrupted", file=sys.stderr)
            return 130


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


class _DeprecatedAlias(argparse.Action):
    """An old spelling of a flag: hidden from ``--help``, does what the new one does, and says so."""

    def __init__(self, option_strings, dest, new, **kwargs):
        super().__init__(
            option_strings,
            dest,
            nargs=new.nargs,
            const=new.const,
            type=new.type,
            choices=new.choices,
            default=argparse.SUPPRESS,
            metavar=new.metavar,
            help=argparse.SUPPRESS,
        )
        self.new = new

    def __call__(self, parser, namespace, values, option_string=None):
        name = self.new.option_strings[0]
        print(
            f"{parser.prog}: warning: {option_string} is deprecated and goes in the next release; use {name}",
            file=sys.stderr,
        )
        self.new(parser, namespace, values, name)


def deprecated_alias(parser, old, new):
    """Make ``old`` (``"--csv"``) an alias of the flag ``new`` (``"--data"``) already on ``parser``.

    Kept for one release: ``--help`` shows only ``new``; using ``old`` prints a one-line
    deprecation note on standard error and then acts exactly as ``new``.
    """
    parser.add_argument(old, action=_DeprecatedAlias, new=parser._option_string_actions[new])
