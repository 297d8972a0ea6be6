"""The ``transformer-tf serve`` sub-command: its flags and its handler (the app is
:mod:`transformer_tf.serve`; :mod:`transformer_tf.cli` only registers this parser)."""

import dataclasses
import importlib.util

from transformer_tf.config import DEFAULT_ENGINE, ENGINES
from transformer_tf.errors import TransformerTFError
from transformer_tf.translate_cli import add_places_flag

LIMIT_HELPS = {
    "max_body_bytes": "largest request body in bytes",
    "max_sentences": "most texts in one /api/translate request",
    "max_chars": "most characters in one text",
    "max_beam": "widest beam search a request may ask for",
}


def add_serve_parser(sub, common):
    """Add ``serve`` to the ``transformer-tf`` sub-command parsers ``sub`` (``common``: the
    flags every sub-command shares); returns the parser and its handler, as cli.py's ``_add_*``."""
    from transformer_tf.serve_config import DEFAULT_FOLDERS, WORKERS, ServeLimits

    serve = sub.add_parser(
        "serve",
        parents=[common],
        help="the translators and the attention explorer as a local web app and JSON API",
        description="Restores each model folder once and serves the live attention explorer at / and a "
        "JSON API (/api/translate, /api/attention, /api/models, /api/health; described at "
        "/openapi.json). Concurrent requests share decode batches. SIGTERM or Ctrl-C answers "
        "the requests in flight, then exits 0.",
    )
    serve.add_argument(
        "--checkpoint-dir",
        action="append",
        metavar="DIR",
        help=f"a model folder to serve, named by its folder's name; repeat for several "
        f"(default: {' and '.join(map(str, DEFAULT_FOLDERS))})",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default %(default)s: this machine only)"
    )
    serve.add_argument("--port", type=int, default=8000, help="(default %(default)s; 0: a free port)")
    serve.add_argument(
        "--workers",
        type=int,
        default=WORKERS,
        metavar="N",
        help="server processes on the one port, each with its own models, batches and event loop, "
        "CTranslate2's threads shared among them (default %(default)s; 2 on two cores answered 1.08-1.12x "
        "the requests/s of one from 32 clients: docs/benchmarks.md)",
    )
    _add_decoding_flags(serve)
    for field in dataclasses.fields(ServeLimits):
        serve.add_argument(
            "--" + field.name.replace("_", "-"),
            type=int,
            default=field.default,
            metavar="N",
            help=f"{LIMIT_HELPS[field.name]} (default %(default)s)",
        )
    add_places_flag(serve)
    return serve, run_serve


def _add_decoding_flags(serve):
    """The flags of how ``serve`` decodes: its engine, batching and threads."""
    from transformer_tf.config import DECODE_SLOTS
    from transformer_tf.serve_config import (
        BATCHING,
        CTRANSLATE2_DECODE_THREADS,
        DECODE_THREADS,
        EVENT_LOOP,
        EVENT_LOOPS,
        INTRA_OP_THREADS,
        TRANSLATE_ROUTE,
        TRANSLATE_ROUTES,
    )

    serve.add_argument(
        "--engine",
        choices=ENGINES,
        default=DEFAULT_ENGINE,
        help="what answers /api/translate, as translate's --engine: ctranslate2 (the Transformer converted once, "
        "int8, cached in the model folder), tensorflow (the Keras model), auto: ctranslate2 for a Transformer, "
        "tensorflow for the RNN or with --batching continuous (default %(default)s); /api/attention always "
        "reads the Keras model",
    )
    serve.add_argument(
        "--max-batch", type=int, default=64, metavar="N", help="most texts decoded in one batch (default %(default)s)"
    )
    serve.add_argument(
        "--batch-wait-ms",
        type=float,
        default=5.0,
        metavar="MS",
        help="how long a batch waits for one more request after the latest (default %(default)s; "
        "in all at most 10 times this)",
    )
    serve.add_argument(
        "--batching",
        choices=("continuous", "fixed"),
        default=BATCHING,
        help="a Transformer's greedy requests on TensorFlow: rows that join and leave a running decode loop between "
        "steps (continuous), or batches gathered from the requests that arrive together (fixed); "
        "default %(default)s",
    )
    serve.add_argument(
        "--slots",
        type=int,
        default=DECODE_SLOTS,
        metavar="N",
        help="sentences a continuous decode loop decodes at once (default %(default)s)",
    )
    serve.add_argument(
        "--decode-threads",
        type=int,
        metavar="N",
        help="batches decoded at once, each by its own thread (on CTranslate2, each batch on one of its "
        "threads); with --batching continuous, decode loops per model (default: "
        f"{CTRANSLATE2_DECODE_THREADS} when a model is served on CTranslate2, else {DECODE_THREADS})",
    )
    serve.add_argument(
        "--event-loop",
        choices=EVENT_LOOPS,
        default=EVENT_LOOP,
        help="the server's event loop: Python's own asyncio loop or uvloop (libuv's, when installed: "
        "pip install uvloop); default %(default)s",
    )
    serve.add_argument(
        "--translate-route",
        choices=TRANSLATE_ROUTES,
        default=TRANSLATE_ROUTE,
        help="who answers a valid POST /api/translate: lean (the body validated before FastAPI's routing; "
        "every other request and every error still FastAPI's) or fastapi (its route); default %(default)s",
    )
    serve.add_argument(
        "--intra-op-threads",
        type=int,
        default=INTRA_OP_THREADS,
        metavar="N",
        help="cores one TensorFlow op may use (default %(default)s: the decode threads are the parallelism; "
        "0: TensorFlow's default, every core)",
    )


def run_serve(args):
    from transformer_tf.serve import bound_socket, warn_if_not_local

    _check_flags(args)
    # a port in use says so now, not after the models load; with --workers, this socket only holds the port
    sock = bound_socket(args.host, args.port, reuse_port=args.workers > 1)
    try:
        warn_if_not_local(args.host)  # now too: the address is this machine's
        from transformer_tf.serve_workers import load_and_serve, run_workers

        if args.workers > 1:
            return run_workers(args, sock, lambda line: print(line, flush=True))
        load_and_serve(args, sock, lambda line: print(line, flush=True))
    except BaseException:
        sock.close()
        raise


def _check_flags(args):
    """Every numeric flag of ``serve`` in range, or a :class:`TransformerTFError` that names it."""
    from transformer_tf.sentence_translator import MAX_BEAM
    from transformer_tf.serve_config import ServeLimits

    limits = ServeLimits.from_flags(args)
    counts = [("max_batch", args.max_batch), ("slots", args.slots), ("workers", args.workers)]
    if args.decode_threads is not None:  # None: the default for the engines served
        counts.append(("decode_threads", args.decode_threads))
    for name, value in [*vars(limits).items(), *counts]:
        if value < 1:
            raise TransformerTFError(f"--{name.replace('_', '-')} {value}: give a whole number ≥ 1.")
    if limits.max_beam > MAX_BEAM:  # a wider request would fail inside its decode batch, not at the door
        raise TransformerTFError(f"--max-beam {limits.max_beam}: give at most {MAX_BEAM} (translate's widest beam).")
    if args.intra_op_threads < 0:
        raise TransformerTFError(f"--intra-op-threads {args.intra_op_threads}: give 0 (every core) or more.")
    if not 0 <= args.port < 65536:
        raise TransformerTFError(f"--port {args.port}: give a port from 0 (any free one) to 65535.")
    if not 0 <= args.batch_wait_ms <= 1000:
        raise TransformerTFError(f"--batch-wait-ms {args.batch_wait_ms}: give 0 to 1000 milliseconds.")
    if args.event_loop == "uvloop" and importlib.util.find_spec("uvloop") is None:
        raise TransformerTFError("--event-loop uvloop: uvloop is not installed; pip install uvloop, or use asyncio.")
