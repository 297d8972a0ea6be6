"""The settings of ``transformer-tf serve``: the defaults of its flags, each with the measurement
that chose it, and the limits of one request. No heavy import here: the command line builds its
parser from this module without loading the server (asyncio, FastAPI, uvicorn), which
``transformer-tf --help`` and ``translate`` would otherwise pay for (~30 ms).
"""

import dataclasses

from transformer_tf.config import DEFAULT_CHECKPOINT_DIR

DEFAULT_FOLDERS = (DEFAULT_CHECKPOINT_DIR, DEFAULT_CHECKPOINT_DIR.parent / "en_es_rnn")  # the shipped two
#: Cores one TensorFlow op may use in the server (``serve --intra-op-threads``). A decode step of a
#: few dozen rows is hundreds of small ops; spread over every core, each op pays a hand-over
#: between threads that costs more than its arithmetic. One core an op decoded 1.4–3.7× the
#: sentences/s on batches of 16–32 here, and halved the server's CPU a request
#: (docs/benchmarks.md, "transformer-tf serve under load"). 0: TensorFlow's default (every core).
INTRA_OP_THREADS = 1
#: Batches decoded at once (``serve --decode-threads``). With one core an op, one batch of 32
#: decodes more sentences a second than two concurrent batches of 16 (each decode step costs
#: about as much for 16 rows as for 32), and on the shared 2-core machine one thread served
#: 148–192 requests/s from 32 clients against 99–154 for two (docs/benchmarks.md).
DECODE_THREADS = 1
#: The default of ``--decode-threads`` when a model is served on CTranslate2: two batches decoded at
#: once, each on one of CTranslate2's threads (it releases the GIL). With 32 one-sentence clients it
#: answered 16–21% more requests/s than one thread in two runs (362 against 312, 334 against 276;
#: docs/benchmarks.md, "transformer-tf serve under load"), at 2–18% more CPU a request.
CTRANSLATE2_DECODE_THREADS = 2


#: Server processes on the one port (``serve --workers``): one by default, which restores each model folder
#: once (~0.9 GB and a few seconds a process with the shipped en_es alone). Two on two cores answered
#: 1.08–1.12× the requests/s of one from 32 wrk clients (medians of three runs of 8 paired rounds), 71–78% of
#: the batch path against 65–68%, at 10–20% more CPU a request: each runs its event loop and its batches'
#: Python beside the other's (:mod:`~transformer_tf.serve_workers`; docs/benchmarks.md).
WORKERS = 1


def default_decode_threads(engines):
    """``--decode-threads``' default for models served on ``engines`` (``"ctranslate2"``/``"tensorflow"``)."""
    return CTRANSLATE2_DECODE_THREADS if "ctranslate2" in engines else DECODE_THREADS


#: How a Transformer's greedy requests are decoded (``serve --batching``): ``"fixed"``, batches gathered
#: by :class:`~transformer_tf.batching.DynamicBatcher`, or ``"continuous"``, rows that join and leave a
#: running decode loop between steps (:mod:`transformer_tf.continuous_decode`). Fixed: with 32 clients
#: it served 164 requests/s against the loop's 137, at half the CPU a request (3.4 against 6.8 ms;
#: the loop's p99 was lower, 423 against 635 ms); docs/benchmarks.md, "transformer-tf serve under load".
BATCHING = "fixed"
#: The server's event loop (``serve --event-loop``): Python's own asyncio loop, or uvloop (libuv's, in C;
#: ``pip install uvloop``). With the connections' ``TCP_NODELAY`` (:func:`listening_socket`) the two served
#: 32 one-sentence clients alike (asyncio 863-898 requests/s, uvloop 777-822, side by side), so
#: asyncio stays the default and uvloop is no dependency; docs/benchmarks.md. (uvicorn's own ``"auto"``
#: would pick uvloop whenever it happens to be installed.) HTTP is parsed by httptools either way.
EVENT_LOOPS = ("asyncio", "uvloop")
EVENT_LOOP = "asyncio"
#: Who answers a valid ``POST /api/translate`` (``serve --translate-route``): ``"lean"``, the ASGI wrapper
#: :class:`~transformer_tf.serve_schema.TranslateFastPath` (the body validated by the route's pydantic model,
#: without FastAPI's routing; every other request, and every bad one, goes on to FastAPI), or ``"fastapi"``:
#: FastAPI's route for all.
TRANSLATE_ROUTES = ("lean", "fastapi")
TRANSLATE_ROUTE = "lean"


@dataclasses.dataclass(frozen=True)
class ServeLimits:
    """What one request may ask for; more is refused with a 4xx naming the limit.

    Attributes:
        max_body_bytes: size of a request body (413 beyond it).
        max_sentences: texts in one ``/api/translate`` request.
        max_chars: characters in one text.
        max_beam: widest beam search.
    """

    max_body_bytes: int = 64 * 1024
    max_sentences: int = 64
    max_chars: int = 1000
    max_beam: int = 8

    @classmethod
    def from_flags(cls, args):
        """The limits ``serve``'s flags (``args``, argparse's) give."""
        return cls(**{field.name: getattr(args, field.name) for field in dataclasses.fields(cls)})


DEFAULT_LIMITS = ServeLimits()
