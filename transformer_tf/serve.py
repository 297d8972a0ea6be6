"""``transformer-tf serve``: the translators and the attention explorer as a local web app
and JSON API.

One process restores each model folder once and answers:

==========================  ======================================================================
``GET /``                   the live explorer page (:func:`~transformer_tf.explorer.live_page`)
``POST /api/translate``     ``{"sentences": [...], "model": "en_es", "beam": 1}`` → translations
``POST /api/attention``     ``{"sentence": "...", "model": "en_es"}`` → pieces and weights per
                            kind, layer and head (:func:`~transformer_tf.explorer.sentence_data`)
``GET /api/models``         the models served, their engines, descriptions and ``config.json``
``GET /api/health``         ``{"status": "ok"}``, each model's engine and the batching counters
``GET /openapi.json``       the API described as OpenAPI (FastAPI writes it)
==========================  ======================================================================

FastAPI on uvicorn: the ASGI pair most Python model servers use, with request validation,
OpenAPI and graceful shutdown built in; a valid ``POST /api/translate`` is answered before FastAPI
(:class:`~transformer_tf.serve_schema.TranslateFastPath`, half the event loop's CPU a request),
every other request and every error by FastAPI. ``/api/translate`` decodes on the engine ``translate``
uses by default (``--engine auto``: CTranslate2 for a Transformer, TensorFlow for the RNN), and
``/api/attention`` on the Keras model (:mod:`transformer_tf.serve_models`). The model's work
runs on worker threads, never on the event loop; translation requests that arrive together share one decode batch
(:class:`~transformer_tf.batching.DynamicBatcher`), or, with ``--batching continuous``, a
Transformer's greedy requests join a running decode loop between its steps
(:mod:`transformer_tf.continuous_decode`). Every bad request gets a 4xx JSON answer
``{"error": message}`` (plus ``"limit"`` naming the limit it broke), never a traceback.
"""

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import errno
import gc
import json
import os
import signal
import socket
import sys
import warnings

from transformer_tf.errors import TransformerTFError
from transformer_tf.serve_config import (
    BATCHING,
    DECODE_THREADS,
    DEFAULT_LIMITS,
    EVENT_LOOP,
    TRANSLATE_ROUTE,
)

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
#: Threads that prepare requests for the decode loops and wait for their rows (most requests in flight).
WAITING_THREADS = 256


def set_op_threads(intra_op_threads):
    """Let one TensorFlow op use at most ``intra_op_threads`` cores (0: TensorFlow's default); the
    server's entry point calls it before any TensorFlow op has run (a process's thread pools
    are made once, at its first op). Later, in a process that has run ops (a test calling the
    command line), it warns and leaves TensorFlow's setting as it is."""
    if not intra_op_threads:
        return
    import tensorflow as tf

    if tf.config.threading.get_intra_op_parallelism_threads() == intra_op_threads:
        return
    try:
        tf.config.threading.set_intra_op_parallelism_threads(intra_op_threads)
    except RuntimeError:  # "cannot be modified after initialization"
        warnings.warn(
            f"--intra-op-threads {intra_op_threads}: TensorFlow has already run in this process, so its ops "
            "keep their thread pool; start the server in a fresh process for the setting to apply.",
            stacklevel=2,
        )


def create_app(
    models,
    limits=DEFAULT_LIMITS,
    max_batch=64,
    max_wait=0.005,
    threads=DECODE_THREADS,
    batching=BATCHING,
    slots=None,
    route=TRANSLATE_ROUTE,
    worker=(0, 1),
):
    """The ASGI app (FastAPI) serving ``models`` (:func:`load_models`); its batcher and decode loops
    start and stop with the app's lifespan. ``max_batch``/``max_wait``/``threads``: see
    :class:`~transformer_tf.batching.DynamicBatcher`. ``batching="continuous"``: a Transformer's
    greedy requests go to :func:`start_loops`' loops instead (``threads`` loops of ``slots`` rows
    each); beam search, the RNN and the attention requests still go to the batcher. ``route``: one of
    :data:`TRANSLATE_ROUTES`. ``worker``: ``(index, count)`` of this process among ``serve --workers``' (in
    ``/api/health``)."""
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse

    from transformer_tf.attention_maps import sentence_attention
    from transformer_tf.batching import DynamicBatcher
    from transformer_tf.explorer import live_page, sentence_data
    from transformer_tf.serve_schema import TranslateFastPath, by_sentence
    from transformer_tf.serve_stages import RequestStages, StageClock

    def run_batch(key, texts):
        name, beam = key
        return by_sentence(models[name].engine_translator, texts, max_batch, beam)

    def attention(model, sentence):
        seen = sentence_attention(model.translator, sentence, model.attention_forward, warn=False)
        return sentence_data(seen, f"{model.name}: {model.description}")

    page = live_page(
        [{"name": m.name, "description": m.description} for m in models.values()], dataclasses.asdict(limits)
    )

    @contextlib.asynccontextmanager
    async def lifespan(app):
        app.state.in_flight = 0  # model requests received and not yet answered
        app.state.batcher = DynamicBatcher(run_batch, max_batch, max_wait, threads=threads)
        app.state.loops = await asyncio.to_thread(start_loops, models, batching, slots, threads)
        app.state.waiting = concurrent.futures.ThreadPoolExecutor(WAITING_THREADS, thread_name_prefix="request")
        yield
        app.state.waiting.shutdown(wait=True)  # the requests still decoding are answered first
        for loop in app.state.loops.values():
            await asyncio.to_thread(loop.close)
        await asyncio.to_thread(app.state.batcher.close)  # what is queued finishes first

    # no /docs or /redoc: their pages load scripts from a CDN; /openapi.json describes the API
    # and no redirect of /api/translate/ to /api/translate: a 404 that names the route instead
    app = FastAPI(
        title="transformer-tf serve", lifespan=lifespan, docs_url=None, redoc_url=None, redirect_slashes=False
    )

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index():
        return HTMLResponse(page)

    stages = RequestStages()
    _add_error_handlers(app)
    _add_model_routes(app, models, limits, attention)
    _add_info_routes(app, models, limits, stages, worker)
    _answer_head(app)
    lean = TranslateFastPath(app, models, limits) if route == "lean" else app
    return StageClock(BodyLimit(lean, limits.max_body_bytes), stages)


def _add_error_handlers(app):
    """Every error a client can cause answers ``{"error": message, "limit": name or None}``, the message
    naming the fix (:mod:`transformer_tf.serve_schema`'s messages)."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    from transformer_tf.serve_schema import (
        BadRequest,
        not_json_message,
        read_as_json,
        route_message,
        validation_message,
    )

    @app.exception_handler(BadRequest)
    async def bad_request(request, err):
        return JSONResponse({"error": str(err), "limit": err.limit}, status_code=err.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(request, err):
        if not read_as_json(request.headers.get("content-type", "")):
            return JSONResponse(
                {"error": "send the body as JSON, with the header Content-Type: application/json.", "limit": None},
                status_code=415,
            )
        status, message = validation_message(err.errors(), request.url.path)
        return JSONResponse({"error": message, "limit": None}, status_code=status)

    @app.exception_handler(HTTPException)
    async def http_error(request, err):
        method, path = request.method, request.url.path
        if err.status_code in (404, 405):
            routes = [(m, r.path) for r in request.app.routes for m in sorted(getattr(r, "methods", set()) - {"HEAD"})]
            message = route_message(err.status_code, method, path, (err.headers or {}).get("Allow", ""), routes)
        elif err.status_code == 400:  # FastAPI could not read the body: not UTF-8, or nested too deep
            message = not_json_message(path)
        else:
            message = str(err.detail)
        return JSONResponse({"error": message, "limit": None}, status_code=err.status_code, headers=err.headers)


def _answer_head(app):
    """HEAD for every GET route (FastAPI's own answer only GET): the GET's headers, without the body
    (uvicorn drops it); not in ``/openapi.json``, whose operations need ids of their own."""
    from fastapi.routing import APIRoute

    for route in list(app.routes):
        if isinstance(route, APIRoute) and "GET" in route.methods:
            app.add_api_route(route.path, route.endpoint, methods=["HEAD"], include_in_schema=False)


def _add_model_routes(app, models, limits, attention):
    """``POST /api/translate`` (through the batcher) and ``POST /api/attention`` (``attention(model, sentence)``
    on the batcher's thread)."""
    from fastapi import Request
    from fastapi.responses import JSONResponse

    from transformer_tf.serve_schema import (
        ERROR_ANSWERS,
        AttentionRequest,
        TranslateAnswer,
        TranslateRequest,
        check_attention_sentence,
        checked_translate,
        model_named,
        on_worker,
        translate_answer,
    )

    @app.post("/api/translate", response_model=TranslateAnswer, responses=ERROR_ANSWERS)
    async def translate(body: TranslateRequest, request: Request):
        """Translate each text (one or more sentences) with one model; greedy (beam 1) or beam search."""
        model, beam, sentences = checked_translate(body, models, limits)
        return JSONResponse(await translate_answer(request.app, model, beam, sentences, request.scope))

    @app.post("/api/attention", responses=ERROR_ANSWERS)
    async def attention_of(body: AttentionRequest, request: Request):
        """The pieces and every attention weight (kind → layer → head → query → key) of one sentence, greedy."""
        model = model_named(models, body.model)
        check_attention_sentence(body.sentence, limits)
        data = await on_worker(request.app, lambda app: app.state.batcher.call(attention, model, body.sentence))
        return JSONResponse(data)


def _add_info_routes(app, models, limits, stages, worker):
    """``GET /api/models`` and ``GET /api/health``."""
    from fastapi import Request
    from fastapi.responses import JSONResponse

    @app.get("/api/models")
    async def served_models():
        """The models served (the first is the default), their descriptions, configs and the limits."""
        described = [
            {"name": m.name, "folder": m.folder, "engine": m.engine, "description": m.description, "config": m.config}
            for m in models.values()
        ]
        return JSONResponse({"models": described, "limits": dataclasses.asdict(limits)})

    @app.get("/api/health")
    async def health(request: Request):
        """``ok``, the models, each one's engine, the batcher's decode threads, the requests in flight
        and the decode batches so far (their count, items, largest, seconds decoding and the decode
        threads' CPU-seconds there, seconds waiting for more requests, and how many had each size);
        ``request_seconds`` and ``job_seconds``: the stages of the translation requests through the batcher,
        summed (:mod:`transformer_tf.serve_stages`); ``decode_loops``: the continuous decode loops' counters
        (:func:`~transformer_tf.continuous_decode.loop_counters`); ``gc``: the objects :func:`freeze_heap` took out of
        the garbage collector's passes, and the collections of each generation so far; ``worker``: the process that
        answered (``pid``) and its ``index`` among the ``workers`` (``serve --workers``): every counter is its own."""
        from transformer_tf.continuous_decode import loop_counters

        batcher = request.app.state.batcher
        return JSONResponse(
            {
                "status": "ok",
                "worker": {"pid": os.getpid(), "index": worker[0], "workers": worker[1]},
                "models": list(models),
                "engines": {m.name: m.engine for m in models.values()},
                "decode_threads": batcher.threads,
                "in_flight": request.app.state.in_flight,
                "batches": batcher.batches,
                "batched_texts": batcher.batched_items,
                "largest_batch": batcher.largest_batch,
                "batch_seconds": round(batcher.busy_seconds, 6),
                "batch_cpu_seconds": round(batcher.busy_cpu_seconds, 6),
                "gather_seconds": round(batcher.gather_seconds, 6),
                "batch_sizes": {str(size): n for size, n in sorted(batcher.batch_sizes.items())},
                "request_seconds": stages.as_json(),
                "job_seconds": batcher.job_times(),
                "decode_loops": loop_counters(request.app.state.loops.values()),
                "gc": {
                    "frozen_objects": gc.get_freeze_count(),
                    "collections": [generation["collections"] for generation in gc.get_stats()],
                },
            }
        )


def start_loops(models, batching, slots=None, loops=DECODE_THREADS):
    """``{name: ContinuousTranslator}`` for each fast-path Transformer of ``models`` when ``batching`` is
    ``"continuous"`` (``loops`` decode loops of ``slots`` rows each), traced here; else ``{}``."""
    if batching != "continuous":
        return {}
    from transformer_tf.continuous_decode import SLOTS, ContinuousTranslator
    from transformer_tf.model import Transformer

    started = {}
    for name, served in models.items():
        translator = served.translator
        if served.engine == "tensorflow" and isinstance(translator.model, Transformer) and not translator.exact:
            started[name] = ContinuousTranslator(translator, slots or SLOTS, loops)
            started[name].translate(["Hello."], progress=False)  # traces its step now, not on a request
    return started


class BodyLimit:
    """ASGI wrapper that reads a request body up to ``max_bytes`` before the app sees it,
    answering 413 ``{"error", "limit": "max_body_bytes"}`` beyond that (declared or sent).

    A refused body is read to its end (up to :attr:`DRAIN_BYTES` more) before the answer: closing a
    connection with unread data makes the kernel reset it, and the client, still sending, gets a
    broken pipe instead of the 413."""

    DRAIN_BYTES = 1 << 20

    def __init__(self, app, max_bytes):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        body, more = b"", True
        if not declared.isdigit() or int(declared) <= self.max_bytes:
            while more and len(body) <= self.max_bytes:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return None
                body += message.get("body", b"")
                more = message.get("more_body", False)
        if more or len(body) > self.max_bytes:
            if not declared.isdigit() or int(declared) <= self.max_bytes + self.DRAIN_BYTES:
                await self._drain(receive, more)
            return await self._refuse(send)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)

    async def _drain(self, receive, more):
        dropped = 0
        while more and dropped <= self.DRAIN_BYTES:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            dropped += len(message.get("body", b""))
            more = message.get("more_body", False)

    async def _refuse(self, send):
        answer = json.dumps(
            {
                "error": f"request body over {self.max_bytes:,} bytes (max_body_bytes; serve --max-body-bytes).",
                "limit": "max_body_bytes",
            }
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers + [(b"connection", b"close")]})
        await send({"type": "http.response.body", "body": answer})


def warn_if_not_local(host):
    """Say on the terminal that a ``host`` other than this machine's loopback opens the server to others."""
    if host not in LOCAL_HOSTS:
        print(
            f"transformer-tf serve: warning: listening on {host}: anyone who can reach this machine "
            "can use the translators (no authentication). Use the default 127.0.0.1 to keep it local.",
            file=sys.stderr,
        )


def serve(app, host="127.0.0.1", port=8000, graceful_seconds=30, announce=print, event_loop=EVENT_LOOP, sock=None):
    """Serve ``app`` on ``host:port`` until SIGTERM or Ctrl-C, then finish the requests in
    flight (up to ``graceful_seconds``) and return. Port 0 picks a free port; the address is
    announced (``announce(line)``) once the socket listens; ``event_loop``: one of :data:`EVENT_LOOPS`;
    ``sock``: the socket :func:`bound_socket` bound to ``host:port`` already (the command line binds it
    before loading the models, and warns with :func:`warn_if_not_local` when the host is not the loopback).

    Raises:
        TransformerTFError: the address cannot be bound (in use, not this machine's).
    """
    sock = sock or bound_socket(host, port)
    import uvicorn

    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=graceful_seconds,
        lifespan="on",
        loop=event_loop,
        http="httptools",
    )
    server = _graceful_server(config)
    freeze_heap()  # the models and the app live as long as the server: out of the collector's full passes
    try:
        sock.listen(2048)  # connections wait in the backlog from now on, until uvicorn accepts them
        url_host = f"[{host}]" if ":" in host else host
        announce(f"serving on http://{url_host}:{sock.getsockname()[1]}/ (Ctrl-C or SIGTERM to stop)")
        server.run(sockets=[sock])
    finally:
        gc.unfreeze()  # a caller that goes on (a notebook) gets its collector back
    if server.stopped_by:
        announce(f"stopped ({signal.Signals(server.stopped_by).name}); requests in flight were answered")


def freeze_heap():
    """Collect the garbage, then move every object alive now out of the garbage collector's reach
    (:func:`gc.freeze`); how many objects are frozen. Call it once the models are loaded.

    Why: a full collection of CPython's garbage collector walks every tracked object, and with
    TensorFlow and Keras loaded (the RNN) there are ~480,000 of them: one pass took 300 ms
    (``gc.collect()`` after :func:`~transformer_tf.serve_models.load_models` of the two shipped models).
    Under load one ran about every 10 s and stalled every request in flight: 32 clients' answers all
    came 270-320 ms late at once, wrk's p99 was 166-257 ms against a p50 of about 21 ms (docs/benchmarks.md,
    "transformer-tf serve under load"). What the requests create later is collected as usual.
    """
    gc.collect()  # what is garbage now is freed, not kept forever
    gc.freeze()
    return gc.get_freeze_count()


def bound_socket(host, port, reuse_port=False):
    """:func:`listening_socket`, or a :class:`TransformerTFError` that names ``--host``/``--port`` and the fix.
    With ``reuse_port``, the port is first bound alone, so that one another program (or another
    ``serve --workers``) holds is refused, not shared; port 0: the free port that binding found."""
    try:
        if reuse_port:
            with listening_socket(host, port) as alone:
                port = alone.getsockname()[1]
        return listening_socket(host, port, reuse_port)
    except OSError as err:
        fix = {
            errno.EADDRINUSE: "another program listens there: stop it, or give another --port (0: any free one)",
            errno.EACCES: "ports below 1024 need privileges: give --port 1024 or more (0: any free one)",
        }.get(err.errno, "give an address of this machine with --host (127.0.0.1: this machine only)")
        raise TransformerTFError(f"--host {host} --port {port}: cannot listen there ({err.strerror}); {fix}.") from None


def listening_socket(host, port, reuse_port=False):
    """A TCP socket bound to ``host:port`` whose connections send each write at once (``TCP_NODELAY``);
    with ``reuse_port``, one of several on the same port (``SO_REUSEPORT``, each process's own: the kernel
    spreads new connections evenly over those that listen; :mod:`~transformer_tf.serve_workers`).

    Without it, an answer written in two parts (uvicorn writes the headers, then the body) waits
    for the client's acknowledgement of the first, which Linux delays up to 40 ms (Nagle's algorithm
    against delayed ACKs): 40–50 ms of a request's round trip on Python's asyncio loop, which sets
    ``TCP_NODELAY`` only on sockets made with ``proto=IPPROTO_TCP`` (uvloop sets it on every TCP
    connection); docs/benchmarks.md, "transformer-tf serve under load".

    Raises:
        OSError: the address cannot be bound.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # asyncio's transports: TCP_NODELAY
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by the accepted connections
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _graceful_server(config):
    """uvicorn's server, whose SIGINT/SIGTERM only stop it gracefully. uvicorn's own re-raises
    the signal once stopped (exit 130, or death by SIGTERM); :func:`serve` returns instead
    (exit 0). (uvicorn is imported here: ``transformer-tf --help`` does not load it.)"""
    import uvicorn

    class GracefulServer(uvicorn.Server):
        stopped_by = None

        @contextlib.contextmanager
        def capture_signals(self):
            previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

        def _stop(self, sig, frame):
            self.stopped_by = self.stopped_by or sig
            self.handle_exit(sig, frame)  # a second Ctrl-C forces the exit

    return GracefulServer(config)
