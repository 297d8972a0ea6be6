"""Where a ``/api/translate`` request's time goes inside ``transformer-tf serve``: its stages,
summed over the requests and reported by ``/api/health`` as ``request_seconds``.

A request through the batcher (:class:`~transformer_tf.batching.DynamicBatcher`) passes:

==============  ==========================================================================
``receive``     from the ASGI call (headers parsed) to its submission to the batcher: the
                body, the JSON and the validation, on the event loop
``queue``       waiting for a decode thread to take it (``job_seconds``, the batcher's)
``gather``      taken, waiting for the other requests of its batch
``decode``      its batch on the engine (sentence split, pieces, decode, detokenize)
``resume``      from its batch's results to the event loop running its handler again
``respond``     from there to its answer handed to the socket: JSON, HTTP, the write
==============  ==========================================================================

``/api/health``'s ``request_seconds`` sums ``receive``, ``batcher`` (the next four together) and
``respond`` over ``requests``; the batcher's ``job_seconds`` sums ``queue``, ``gather`` and
``decode`` over its ``jobs``; ``resume`` is ``batcher`` less those three. Divide two answers'
differences by the requests between them for a mean per request (``bench/serve_load.py`` does).
"""

import time

#: The key of a request's timestamps in its ASGI scope.
SCOPE_KEY = "transformer_tf.stage_times"


class RequestStages:
    """The summed stages of the requests answered so far (the event loop's thread only)."""

    def __init__(self):
        self.requests = 0
        self.seconds = {"receive": 0.0, "batcher": 0.0, "respond": 0.0}

    def add(self, times, written):
        """Count one request from its timestamps (``arrived``, ``submitted``, ``resumed``) and ``written``;
        a request never submitted (a bad one, another route) is not counted."""
        if "resumed" not in times:
            return
        self.requests += 1
        self.seconds["receive"] += times["submitted"] - times["arrived"]
        self.seconds["batcher"] += times["resumed"] - times["submitted"]
        self.seconds["respond"] += written - times["resumed"]

    def as_json(self):
        return {"requests": self.requests, **{k: round(v, 6) for k, v in self.seconds.items()}}


def stamp(scope, name):
    """Note the time ``name`` (``"submitted"``, ``"resumed"``) of the request whose ASGI ``scope``
    :class:`StageClock` times (a request it does not time is left alone)."""
    times = scope.get(SCOPE_KEY)
    if times is not None:
        times[name] = time.perf_counter()


class StageClock:
    """ASGI wrapper that stamps each HTTP request's arrival and the sending of its answer's last
    bytes, and adds the request to ``stages`` (:class:`RequestStages`) then."""

    def __init__(self, app, stages):
        self.app, self.stages = app, stages

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        times = scope[SCOPE_KEY] = {"arrived": time.perf_counter()}

        async def timed_send(message):
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self.stages.add(times, time.perf_counter())

        return await self.app(scope, receive, timed_send)
