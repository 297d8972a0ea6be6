"""``transformer-tf``: the command line of the Transformer package.

Sub-commands:
    demo    the multi-head attention article's worked example (shapes, masks, heatmaps)
"""

import argparse
import sys

from transformer_tf.errors import TransformerTFError


def build_parser():
    parser = argparse.ArgumentParser(
        prog="transformer-tf",
        description="The Transformer of the attention article series, in TensorFlow/Keras.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="run the multi-head attention worked example")
    demo.add_argument("--out", metavar="DIR", help="also write attention heatmap PNGs to DIR")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.set_defaults(handler=_demo)
    return parser


def _demo(args):
    from transformer_tf.demo import run_demo

    run_demo(out_dir=args.out, seed=args.seed)


def main(argv=None):
    """Entry point; returns the process exit status (0 ok, 2 user error)."""
    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except TransformerTFError as err:
        print(f"transformer-tf {args.command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # unwritable --out, full disk: the user's to fix, not a crash
        print(f"transformer-tf {args.command}: error: {err.strerror}: {err.filename}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
