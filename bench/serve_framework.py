"""What FastAPI's route costs a ``/api/translate`` request, in this process, without the server:
the same parse, validation (``TranslateRequest``) and JSON answer through a FastAPI app and through a
bare ASGI handler, on the event loop's thread; no HTTP, no batcher (the translation is a stand-in).

    python bench/serve_framework.py [--requests 4000] [--rounds 2]

Prints the CPU microseconds a request of each, alternating, so that other work on the machine
changes both alike; compare them with the server's 1.1 CPU-ms a request (``bench/serve_load.py``).
"""

import argparse
import asyncio
import json
import time

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from transformer_tf.serve_schema import TranslateRequest

BODY = json.dumps({"sentences": ["He admired her as a great director."]}).encode()


def answer(request):
    """The JSON answer of the server's route, with a stand-in translation."""
    groups = [[(s, "Él la admiraba como una gran directora.")] for s in request.sentences]
    return {
        "model": "en_es",
        "beam": request.beam,
        "translations": [" ".join(t for _, t in group) for group in groups],
        "sentences": [[{"sentence": s, "translation": t} for s, t in group] for group in groups],
    }


def fastapi_app():
    """A FastAPI app with the server's route shape (and a few other routes to look past)."""
    app = FastAPI()
    for path in ("/", "/api/attention", "/api/models", "/api/health"):
        app.get(path)(lambda: {})

    @app.post("/api/translate")
    async def translate(body: TranslateRequest):
        return JSONResponse(answer(body))

    return app


async def bare(scope, receive, send):
    """The same work as a bare ASGI handler: pydantic's JSON parser and ``json.dumps``."""
    message = await receive()
    data = json.dumps(answer(TranslateRequest.model_validate_json(message["body"])), ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def call(app):
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/translate",
        "raw_path": b"/api/translate",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
        "state": {},
    }

    async def receive():
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message):
        pass

    await app(scope, receive, send)


async def cpu_microseconds(app, requests):
    for _ in range(requests // 10):  # warm-up
        await call(app)
    start = time.thread_time()
    for _ in range(requests):
        await call(app)
    return 1e6 * (time.thread_time() - start) / requests


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    apps = {"FastAPI route": fastapi_app(), "bare ASGI handler": bare}
    for round_ in range(1, args.rounds + 1):
        for name, app in apps.items():
            print(f"round {round_}: {name}: {asyncio.run(cpu_microseconds(app, args.requests)):.0f} CPU-µs a request")


if __name__ == "__main__":
    main()
