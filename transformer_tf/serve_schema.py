"""The JSON bodies of ``transformer-tf serve``'s API and their checks: the pydantic models of the requests
(FastAPI validates them and writes them into ``/openapi.json``) and of the answers (``/openapi.json`` only),
how a refusal reads to the client (a validation error, no route, a wrong method: each message names the fix),
the limits every request is held to (:func:`checked_translate`: :func:`model_named`, :func:`checked_beam`,
:func:`check_texts`),
and the lean path of ``POST /api/translate``.

The checks and the answer (:func:`translate_answer`) are shared by FastAPI's route
(:mod:`transformer_tf.serve`) and :class:`TranslateFastPath`, an ASGI wrapper in front of FastAPI
that answers a *valid* translate request itself: the body validated by :class:`TranslateRequest`
straight from its bytes (pydantic's ``model_validate_json``), with no routing, no dependency
injection and no ``Request`` object. Anything it is
not sure of (another route, another content type, a body that is not a JSON object of the right
fields and types, a limit broken) goes on to FastAPI unchanged, so every 4xx answer is FastAPI's,
word for word.
"""

import asyncio
import email.message
import json
import re

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from transformer_tf.pictographs import ONLY_PICTOGRAPHS, take_out
from transformer_tf.sentence_translator import cut_message, cuts_recorded
from transformer_tf.sentences import is_blank
from transformer_tf.serve_stages import stamp


class TranslateRequest(BaseModel):
    """``POST /api/translate``."""

    model_config = ConfigDict(strict=True, extra="forbid")  # "1" is no beam width, true no number

    sentences: list[str] = Field(description="English texts; each may hold several sentences")
    model: str | None = Field(None, description="a name from GET /api/models (default: the first)")
    beam: int = Field(1, description="1: greedy decoding; more: beam search with that many beams")


class AttentionRequest(BaseModel):
    """``POST /api/attention`` (greedy decoding, as ``plot-attention``)."""

    model_config = ConfigDict(strict=True, extra="forbid")

    sentence: str = Field(description="one English text")
    model: str | None = Field(None, description="a name from GET /api/models (default: the first)")


#: A body of each POST route, for the messages that show one.
EXAMPLES = {"/api/translate": '{"sentences": ["Hello."]}', "/api/attention": '{"sentence": "Hello."}'}


def example(path):
    """A body the route at ``path`` takes (the translate route's for another path)."""
    return EXAMPLES.get(path, EXAMPLES["/api/translate"])


def not_json_message(path):
    """The message of a body that is not JSON (or not UTF-8) sent to ``path``."""
    return f"the body is not valid JSON (UTF-8): send a JSON object, e.g. {example(path)}."


class SentenceTranslation(BaseModel):
    sentence: str = Field(description="one sentence of the text, as the text was split")
    translation: str


class TranslateAnswer(BaseModel):
    """The answer of ``POST /api/translate`` (documentation only: the route writes it itself)."""

    model: str
    beam: int
    translations: list[str] = Field(description="one Spanish text per text sent, its sentences' translations joined")
    sentences: list[list[SentenceTranslation]] = Field(description="per text sent, each sentence and its translation")
    warnings: list[str] = Field(
        description="one message per sentence longer than the model reads (cut: only its start is translated), "
        'naming it ("sentences[i], sentence j"), its start and its tokens against the limit; [] when none'
    )


class ErrorAnswer(BaseModel):
    """The answer of every request the server refuses (4xx)."""

    error: str = Field(description="what is wrong, and what to send instead")
    limit: str | None = Field(
        description="the limit broken (max_body_bytes, max_sentences, max_chars, max_beam), or null"
    )


#: The refusals of the POST routes, as ``/openapi.json`` describes them (FastAPI's default 422 would say
#: ``{"detail": [...]}``, which this server never answers).
ERROR_ANSWERS = {
    status: {"model": ErrorAnswer, "description": description}
    for status, description in [
        (400, "the body is not JSON (or not UTF-8)"),
        (413, "the body is over max_body_bytes"),
        (415, "the body is not sent as application/json"),
        (422, "a field of the wrong type, an unknown field or model, a limit broken"),
    ]
}


def validation_message(errors, path="/api/translate"):
    """``(status, message)`` for FastAPI's validation ``errors`` of a body sent to ``path``: 400 when
    the body is not JSON, else 422 with each problem as ``field: what is wrong``."""
    if any(error["type"] == "json_invalid" for error in errors):
        return 400, not_json_message(path)
    if [(error["type"], tuple(error["loc"])) for error in errors] == [("missing", ("body",))]:
        return 422, f"the body is empty: send a JSON object, e.g. {example(path)}."
    problems = []
    for error in errors:
        where = ".".join(str(part) for part in error["loc"] if part != "body") or "body"
        problems.append(f"{where}: {error['msg']}")
    return 422, "; ".join(problems)


def read_as_json(content_type):
    """Whether FastAPI's routes read a body of this ``Content-Type`` as JSON: ``application/json`` or
    ``application/*+json``, any parameters (its own rule); another type reaches the route as bytes."""
    header = email.message.Message()
    header["content-type"] = content_type
    subtype = header.get_content_subtype()
    return header.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


def route_message(status, method, path, allowed, routes):
    """The message of a 404 (no route at ``path``) or a 405 (``method`` not in ``allowed``, the
    ``Allow`` header): what to send instead. ``routes``: ``[(method, path)]`` of the server's routes."""
    if status == 405:
        methods = " or ".join(allowed.split(", "))
        return f"{method} {path}: this route takes {methods} (GET /openapi.json describes the API)."
    bare = path.rstrip("/") or "/"
    near = [f"{m} {p}" for m, p in routes if p == bare]
    if bare != path and near:
        return f"no route {method} {path}: use {' or '.join(near)} (no trailing slash)."
    return f"no route {method} {path}: the routes are {', '.join(f'{m} {p}' for m, p in routes)}."


JSON_TYPES = (b"application/json", b"application/json; charset=utf-8")


class BadRequest(Exception):
    """A request the client can fix: answered ``status`` with ``{"error": message, "limit": limit}``."""

    def __init__(self, message, status=422, limit=None):
        super().__init__(message)
        self.status, self.limit = status, limit


#: Half of a UTF-16 pair: JSON's ``"\\ud800"`` escape alone decodes to it, and no engine can encode it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def check_texts(texts, limits, what="sentences"):
    """Refuse an empty list, too many texts, a blank text (:func:`~transformer_tf.sentences.is_blank`: white
    space and invisible characters), a text over ``max_chars`` or one that is not
    Unicode (a lone surrogate: it would fail the whole decode batch it joined, other requests too)."""
    if not texts:
        raise BadRequest(f"{what} is empty: give at least one English sentence.")
    if len(texts) > limits.max_sentences:
        raise BadRequest(
            f"{what}: {len(texts)} given; the limit is {limits.max_sentences} a request "
            f"(max_sentences; serve --max-sentences): send several requests.",
            limit="max_sentences",
        )
    for i, text in enumerate(texts):
        where = f"{what}[{i}]" if what == "sentences" else what
        if is_blank(text):
            seen = text.strip()  # the invisible characters str.strip keeps
            why = f" (only invisible characters, e.g. U+{ord(seen[0]):04X})" if seen else ""
            raise BadRequest(f"{where} is empty{why}: give some English text.")
        if len(text) > limits.max_chars:
            raise BadRequest(
                f"{where} has {len(text):,} characters; the limit is {limits.max_chars:,} "
                f"(max_chars; serve --max-chars): split it.",
                limit="max_chars",
            )
        if not text.isascii() and (surrogate := _SURROGATE.search(text)):
            raise BadRequest(
                f"{where} has a lone UTF-16 surrogate ({ascii(surrogate.group())[1:-1]}) at character "
                f"{surrogate.start()}: send Unicode text (in JSON an escaped emoji needs both halves, e.g. "
                f"\\ud83d\\ude00)."
            )


def model_named(models, name):
    """The served model ``name`` (None: the first); :class:`BadRequest` for an unknown name."""
    if name is None:
        return next(iter(models.values()))
    if name not in models:
        raise BadRequest(f"unknown model {name!r}: this server has {', '.join(models)} (GET /api/models).")
    return models[name]


def checked_beam(beam, limits):
    """``beam``, or :class:`BadRequest` when it is not 1 to ``limits.max_beam``."""
    if not 1 <= beam <= limits.max_beam:
        raise BadRequest(
            f"beam {beam}: give 1 (greedy) to {limits.max_beam} (max_beam; serve --max-beam).", limit="max_beam"
        )
    return beam


def check_attention_sentence(sentence, limits):
    """Refuse what :func:`check_texts` refuses, and a sentence of only emoji: the model reads nothing of it
    (:mod:`transformer_tf.pictographs`), so it has no attention to show."""
    check_texts([sentence], limits, "sentence")
    if not take_out(sentence).text:
        raise BadRequest(f"sentence: {ONLY_PICTOGRAPHS}")


def checked_translate(body, models, limits):
    """``(model, beam, sentences)`` of a :class:`TranslateRequest`, or :class:`BadRequest` for an unknown
    model, a beam outside ``limits`` or texts it refuses (:func:`check_texts`), checked in that order."""
    model, beam = model_named(models, body.model), checked_beam(body.beam, limits)
    check_texts(body.sentences, limits)
    return model, beam, body.sentences


async def on_worker(app, queue):
    """Await the Future that ``queue(app)`` returns (``concurrent.futures`` or asyncio), counting the
    request as in flight."""
    app.state.in_flight += 1
    try:
        return await asyncio.wrap_future(queue(app))
    finally:
        app.state.in_flight -= 1


async def translate_answer(app, model, beam, sentences, scope):
    """The JSON answer (a dict) of a checked translate request: ``sentences`` (texts) translated by
    ``model`` (a ServedModel) with ``beam``, through the app's batcher or its continuous decode loop;
    ``scope``: the request's ASGI scope (its stage times, :mod:`transformer_tf.serve_stages`)."""
    loop = app.state.loops.get(model.name) if beam == 1 else None
    if loop is None:
        key = (model.name, beam)
        stamp(scope, "submitted")
        groups = await on_worker(app, lambda app: app.state.batcher.submit_async(key, sentences))
        stamp(scope, "resumed")
    else:  # a request thread prepares the texts and waits for their rows of the decode loop
        groups = await on_worker(app, lambda app: app.state.waiting.submit(by_sentence, loop, sentences))
    max_tokens = model.engine_translator.max_tokens
    return {
        "model": model.name,
        "beam": beam,
        "translations": [" ".join(t for _, t in group) for group, _ in groups],
        "sentences": [[{"sentence": s, "translation": t} for s, t in group] for group, _ in groups],
        "warnings": [
            cut_message(f"sentences[{i}], sentence {row + 1}", group[row][0], tokens, max_tokens)
            for i, (group, cut) in enumerate(groups)
            if cut
            for row, tokens in cut.items()
        ],
    }


def by_sentence(translator, texts, batch_size=64, beam=1):
    """``translator.translate_by_sentence(texts, batch_size, beam)`` on this thread, with the sentences
    it cut to the model's length: per text ``(pairs, {row: tokens} or None)``. The cuts are recorded
    (:func:`~transformer_tf.sentence_translator.cuts_recorded`), not warned on the server's terminal:
    the answer says them. Nothing is tokenized again: a text with no cut sentence costs a ``None``."""
    with cuts_recorded() as cuts:
        groups = translator.translate_by_sentence(texts, batch_size, beam, progress=False)
    if not cuts:
        return [(group, None) for group in groups]
    return [(group, translator.cut_tokens([s for s, _ in group], cuts) or None) for group in groups]


def json_bytes(content):
    """``content`` as Starlette's ``JSONResponse`` renders it (compact, UTF-8, no NaN)."""
    return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode()


class TranslateFastPath:
    """ASGI wrapper that answers valid ``POST /api/translate`` requests without FastAPI.

    ``app``: the FastAPI app (its ``state`` holds the batcher); ``models``, ``limits``: the server's.
    Wrap it inside :class:`~transformer_tf.serve.BodyLimit`, which has read the whole body.
    """

    def __init__(self, app, models, limits):
        self.app, self.models, self.limits = app, models, limits

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != "/api/translate" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        message = await receive()
        checked = self._checked(scope, message)
        if checked is None:  # FastAPI answers it (and writes the error), from the same body

            async def replay():
                nonlocal message
                if message is None:
                    return await receive()
                replayed, message = message, None
                return replayed

            return await self.app(scope, replay, send)
        answer = json_bytes(await translate_answer(self.app, *checked, scope))
        headers = [(b"content-length", str(len(answer)).encode()), (b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    def _checked(self, scope, message):
        """``(model, beam, sentences)`` of a request FastAPI would accept, else None."""
        if message.get("type") != "http.request" or message.get("more_body", False):
            return None
        content_type = next((value for name, value in scope["headers"] if name.lower() == b"content-type"), b"")
        if content_type.lower() not in JSON_TYPES:
            return None
        try:  # the route's own model, strict as FastAPI holds it: no bool or float beam, no extra field
            body = TranslateRequest.model_validate_json(message.get("body", b""))
            return checked_translate(body, self.models, self.limits)
        except (ValidationError, BadRequest):
            return None
