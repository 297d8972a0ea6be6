"""The lean ``POST /api/translate`` path (:class:`transformer_tf.serve_schema.TranslateFastPath`) answers
byte for byte as FastAPI's route, and leaves to FastAPI every request it is not sure of. The app runs in
this process on stand-in translators (no model, no TensorFlow decode), driven by ASGI messages."""

import asyncio
import json

import pytest

from transformer_tf.sentence_translator import SentenceTranslator
from transformer_tf.serve import create_app
from transformer_tf.serve_config import ServeLimits
from transformer_tf.serve_models import ServedModel
from transformer_tf.tokenizer import END_ID, START_ID


class CharPieces:
    """A stand-in tokenizer: one piece per character, START … END around them."""

    def encode(self, texts):
        return [[START_ID, *map(ord, text), END_ID] for text in texts]


class Echo(SentenceTranslator):
    """A stand-in engine translator: each sentence's "translation" is the sentence upper-cased, beam times;
    its sources are encoded (one piece a character) and cut to 8 tokens as a model's are."""

    source_tokenizer, max_tokens, places = CharPieces(), 8, False

    def _decode_sentences(self, sentences, batch_size, beam, progress):
        self.encode_sources([s for s in sentences if s.strip()])
        return [s.upper() * beam for s in sentences]


LIMITS = ServeLimits(max_sentences=3, max_chars=20, max_beam=2)
JSON = "application/json"
REQUESTS = {  # name: (content type, body); the valid ones first
    "one sentence": (JSON, {"sentences": ["Hi."]}),
    "model and beam": (JSON, {"sentences": ["Hi.", "Bye é."], "model": "second", "beam": 2}),
    "model null": ("application/json; charset=utf-8", {"sentences": ["Hi."], "model": None}),
    "a cut sentence": (JSON, {"sentences": ["Hi.", "Hi. Good morning."]}),
    "emoji": (JSON, {"sentences": ["Hi 😀", "👍"], "beam": 2}),
    "beam true": (JSON, {"sentences": ["Hi."], "beam": True}),
    "beam float": (JSON, {"sentences": ["Hi."], "beam": 1.0}),
    "beam string": (JSON, {"sentences": ["Hi."], "beam": "1"}),
    "beam too wide": (JSON, {"sentences": ["Hi."], "beam": 3}),
    "model number": (JSON, {"sentences": ["Hi."], "model": 3}),
    "unknown model": (JSON, {"sentences": ["Hi."], "model": "third"}),
    "extra field": (JSON, {"sentences": ["Hi."], "temperature": 1}),
    "sentences a string": (JSON, {"sentences": "Hi."}),
    "sentence a number": (JSON, {"sentences": [1]}),
    "no sentences": (JSON, {"sentences": []}),
    "blank sentence": (JSON, {"sentences": [" "]}),
    "invisible sentence": (JSON, {"sentences": ["\u200b\u2060"]}),
    "too many": (JSON, {"sentences": ["Hi."] * 4}),
    "too long": (JSON, {"sentences": ["a" * 21]}),
    "a list": (JSON, ["Hi."]),
    "invalid JSON": (JSON, b'{"sentences": ["Hi."'),
    "lone surrogate": (JSON, b'{"sentences": ["Hi \\ud800."]}'),
    "plain text": ("text/plain", {"sentences": ["Hi."]}),
    "no content type": (None, {"sentences": ["Hi."]}),
}
VALID = ("one sentence", "model and beam", "model null", "a cut sentence", "emoji")


async def _call(app, method, path, content_type=None, body=b""):
    """``(status, headers, body)`` of one HTTP request to the ASGI ``app``."""
    headers = [(b"content-type", content_type.encode())] if content_type else []
    scope = {"type": "http", "method": method, "path": path, "headers": headers, "query_string": b""}
    scope |= {"http_version": "1.1", "scheme": "http", "server": ("127.0.0.1", 8000), "root_path": ""}
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    return start["status"], dict(start["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


async def _answers(route, requests, **settings):
    """Each request's answer from an app with ``route`` (and ``create_app``'s other ``settings``), its
    lifespan started and stopped around them."""
    models = {name: ServedModel(name, name, Echo(), name, {}, "ctranslate2") for name in ("first", "second")}
    app = create_app(models, LIMITS, max_wait=0.0, threads=1, route=route, **settings)
    events, sent = asyncio.Queue(), asyncio.Queue()
    lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, events.get, sent.put))
    await events.put({"type": "lifespan.startup"})
    assert (await sent.get())["type"] == "lifespan.startup.complete"
    try:
        return [await _call(app, *request) for request in requests]
    finally:
        await events.put({"type": "lifespan.shutdown"})
        await lifespan


def _request(name):
    content_type, body = REQUESTS[name]
    return "POST", "/api/translate", content_type, body if isinstance(body, bytes) else json.dumps(body).encode()


def test_the_lean_route_answers_every_request_as_fastapis_route(recwarn):
    requests = [_request(name) for name in REQUESTS] + [("GET", "/api/translate"), ("GET", "/api/models")]
    lean, fastapi = (asyncio.run(_answers(route, requests)) for route in ("lean", "fastapi"))
    for name, (status, headers, body), expected in zip([*REQUESTS, "GET translate", "models"], lean, fastapi):
        assert (status, headers.get(b"content-type"), body) == (
            expected[0],
            expected[1].get(b"content-type"),
            expected[2],
        ), name
        assert headers.get(b"content-length") == expected[1].get(b"content-length"), name
    answers = dict(zip(REQUESTS, lean))
    assert json.loads(answers["model and beam"][2])["translations"] == ["HI.HI.", "BYE É.BYE É."]
    assert json.loads(answers["model and beam"][2])["warnings"] == []
    # "Good morning." is 13 pieces + START, END: the answer says it was cut, the server's terminal does not
    assert json.loads(answers["a cut sentence"][2])["warnings"] == [
        'sentences[1], sentence 2 ("Good morning.") has 15 tokens, longer than the 8 tokens the model reads: '
        "only its start is translated."
    ]
    assert not [w for w in recwarn if "the model reads" in str(w.message)]
    # Echo read "Hi" (not "HI 😀HI 😀"), the emoji came back after it; "👍" alone was not decoded
    assert json.loads(answers["emoji"][2])["translations"] == ["HIHI 😀", "👍"]
    assert all(answers[name][0] == 200 for name in VALID)
    assert all(status >= 400 for name, (status, _, _) in answers.items() if name not in VALID)


@pytest.mark.parametrize("name", REQUESTS)
def test_the_lean_route_takes_only_valid_requests_and_leaves_the_rest_to_fastapi(name):
    from transformer_tf.serve_schema import TranslateFastPath

    models = {"first": None, "second": None}
    lean = TranslateFastPath(None, models, LIMITS)
    _, path, content_type, body = _request(name)
    headers = [(b"content-type", content_type.encode())] if content_type else []
    scope = {"type": "http", "path": path, "headers": headers}
    checked = lean._checked(scope, {"type": "http.request", "body": body})
    assert (checked is not None) == (name in VALID)


def test_the_attention_of_a_sentence_of_only_emoji_is_refused_with_a_reason():
    """The model reads nothing of it (transformer_tf.pictographs): no attention to show."""
    request = ("POST", "/api/attention", JSON, json.dumps({"sentence": "👍 🎉"}).encode())
    ((status, _, body),) = asyncio.run(_answers("lean", [request]))
    assert status == 422
    assert json.loads(body)["error"].startswith("sentence: the sentence is only emoji: the model reads nothing of it")
