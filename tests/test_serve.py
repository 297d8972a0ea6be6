"""``transformer-tf serve`` (issue 27): the real server in a subprocess, spoken to over HTTP,
and its live page in a headless Chromium."""

import concurrent.futures
import http.client
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import unittest.mock
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from transformer_tf import Translator, sentence_attention
from transformer_tf.attention_maps import KINDS
from transformer_tf.code_switch import with_stand_ins
from transformer_tf.sentence_translator import cut_message, cuts_recorded

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = [ROOT / "checkpoints" / "en_es", ROOT / "checkpoints" / "en_es_rnn"]
TINY_LIMITS = ["--max-sentences", "8", "--max-chars", "200", "--max-body-bytes", "4096", "--max-beam", "4"]
TEXTS = ["He admired her as a great director.", "Where is the station? I am lost.", "Tom is tired."]


class Server:
    """``transformer-tf serve --port 0 ARGS`` in a subprocess; ``url`` once it listens."""

    def __init__(self, *args, timeout=240, cwd=None):
        command = [sys.executable, "-m", "transformer_tf.cli", "serve", "--port", "0", *map(str, args)]
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd
        )
        self.stderr = []
        threading.Thread(target=lambda: self.stderr.extend(self.process.stderr), daemon=True).start()
        self.lines = []
        deadline = time.monotonic() + timeout
        for line in self.process.stdout:  # the address is its first line
            self.lines.append(line)
            found = re.search(r"serving on (http://[^/]+)/", line)
            if found:
                self.url, self.host_port = found.group(1), found.group(1).removeprefix("http://")
                break
            if time.monotonic() > deadline:
                break
        else:
            self.process.wait(timeout=30)
        if not hasattr(self, "url"):
            self.process.kill()
            raise AssertionError(f"the server did not start: {''.join(self.lines)}{''.join(self.stderr)}")

    def request(self, method, path, body=None, headers=None, raw=None):
        """``(status, answer as JSON or text)``; ``body`` is sent as JSON, ``raw`` as it is."""
        connection = http.client.HTTPConnection(self.host_port, timeout=120)
        try:
            payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
            default = {"Content-Type": "application/json"} if payload is not None else {}
            connection.request(method, path, body=payload, headers={**default, **(headers or {})})
            response = connection.getresponse()
            text = response.read().decode()
            is_json = response.getheader("content-type", "").startswith("application/json")
            return response.status, json.loads(text) if is_json else text
        finally:
            connection.close()

    def stop(self, sig=signal.SIGTERM, timeout=60):
        """Send ``sig``; the exit status and the rest of stdout."""
        self.process.send_signal(sig)
        rest, _ = self.process.communicate(timeout=timeout)
        return self.process.returncode, "".join(self.lines) + rest


@pytest.fixture(scope="module")
def tiny_server(trained_dir):
    """The tiny model served with the continuous decode loop (``--batching continuous``) and tiny limits."""
    server = Server("--checkpoint-dir", trained_dir, "--batching", "continuous", *TINY_LIMITS)
    yield server
    status, _ = server.stop()
    assert status == 0
    assert "Traceback" not in "".join(server.stderr)  # no bad request below ever reached a traceback


@pytest.fixture(scope="module")
def fixed_server(trained_dir):
    """The tiny model served with the fixed batcher (``--batching fixed``) on TensorFlow, on uvloop's
    event loop where it is installed (the other servers run the default, asyncio's)."""
    loop = ["--event-loop", "uvloop"] if importlib.util.find_spec("uvloop") else []
    server = Server("--checkpoint-dir", trained_dir, "--batching", "fixed", "--engine", "tensorflow", *loop)
    yield server
    assert server.stop()[0] == 0


@pytest.fixture(scope="module")
def ct2_server(trained_dir, tmp_path_factory):
    """A copy of the tiny model (its CTranslate2 cache is written there) served with the defaults:
    ``--engine auto``, CTranslate2 for a Transformer; the fixed batcher; its decode threads (2 there)."""
    from transformer_tf.ctranslate2_engine import CACHE_NAME

    folder = tmp_path_factory.mktemp("ct2") / "ckpt"
    shutil.copytree(trained_dir, folder, ignore=shutil.ignore_patterns(CACHE_NAME))
    server = Server("--checkpoint-dir", folder, *TINY_LIMITS)
    server.folder = folder
    yield server
    assert server.stop()[0] == 0
    assert "Traceback" not in "".join(server.stderr)


@pytest.fixture(scope="module")
def ct2(ct2_server):
    """The engine translator ``open_translator`` gives for the served folder (the server's cache, fresh)."""
    from transformer_tf.ctranslate2_engine import CACHE_NAME, fresh_model
    from transformer_tf.engines import open_translator

    assert fresh_model(ct2_server.folder) == ct2_server.folder / CACHE_NAME  # converted by the server at start-up
    return open_translator(ct2_server.folder)


@pytest.fixture(scope="module")
def tiny(trained_dir):
    return Translator.from_checkpoint(trained_dir)


@pytest.mark.parametrize("beam", [1, 3])
@pytest.mark.parametrize(
    "server, translator", [("tiny_server", "tiny"), ("ct2_server", "ct2")], ids=["tensorflow", "ctranslate2"]
)
def test_translations_equal_the_engine_translators(request, server, translator, beam):
    """The TensorFlow server answers as ``Translator.translate``, the CTranslate2 one as the engine
    translator ``open_translator`` gives for its folder."""
    server, translator = request.getfixturevalue(server), request.getfixturevalue(translator)
    status, answer = server.request("POST", "/api/translate", {"sentences": TEXTS, "beam": beam})
    assert status == 200 and answer["model"] == "ckpt" and answer["beam"] == beam
    assert answer["translations"] == translator.translate(TEXTS, beam=beam)
    # each text's sentences, split as translate splits them, and their own translations
    assert [s["sentence"] for s in answer["sentences"][1]] == ["Where is the station?", "I am lost."]
    for group, text in zip(answer["sentences"], answer["translations"]):
        assert " ".join(s["translation"] for s in group) == text


def test_the_ctranslate2_server_says_its_engine_and_draws_attention_from_the_keras_model(ct2_server, tiny):
    _, models = ct2_server.request("GET", "/api/models")
    assert [(m["name"], m["engine"]) for m in models["models"]] == [("ckpt", "ctranslate2")]
    _, health = ct2_server.request("GET", "/api/health")
    assert health["engines"] == {"ckpt": "ctranslate2"} and health["decode_threads"] == 2  # CTranslate2's default
    sentence = "He admired her as a great director."
    status, data = ct2_server.request("POST", "/api/attention", {"sentence": sentence})
    reference = sentence_attention(tiny, sentence)  # the copy's Keras model is the tiny model
    assert status == 200 and data["translation"] == reference.translation
    assert data["tokens"]["target"] == reference.target_pieces


@pytest.mark.parametrize("batching", ["continuous", "fixed", "ctranslate2"])
def test_concurrent_requests_share_decoding_and_get_their_own_answers(request, tiny, batching):
    fixture = {"continuous": "tiny_server", "fixed": "fixed_server", "ctranslate2": "ct2_server"}[batching]
    server = request.getfixturevalue(fixture)
    reference = request.getfixturevalue("ct2") if batching == "ctranslate2" else tiny
    sentences = [f"Tom has {n} red apples." for n in range(2, 18)]
    _, before = server.request("GET", "/api/health")
    with concurrent.futures.ThreadPoolExecutor(len(sentences)) as pool:
        answers = list(pool.map(lambda s: server.request("POST", "/api/translate", {"sentences": [s]}), sentences))
    _, after = server.request("GET", "/api/health")
    assert [status for status, _ in answers] == [200] * len(sentences)
    assert [answer["translations"][0] for _, answer in answers] == reference.translate(sentences)
    if batching != "continuous":
        assert after["batched_texts"] - before["batched_texts"] == len(sentences)
        assert after["batches"] - before["batches"] < len(sentences)  # some requests shared a batch
        assert after["largest_batch"] > 1
        assert_stages_add_up(before, after, len(sentences))
        return
    loops, started = after["decode_loops"], before["decode_loops"]
    assert loops["sentences"] - started["sentences"] == len(sentences)
    assert after["batches"] == before["batches"]  # none went to the fixed batcher
    assert loops["admissions"] - started["admissions"] < len(sentences)  # some joined the loop together
    assert loops["rows"] - started["rows"] > loops["steps"] - started["steps"]  # some steps decoded several rows


#: Over the tiny model's 24 tokens (its stand-ins for the places too: Berlin → Boston, Rome → Denver).
# no comma, semicolon or colon: nowhere to read it in clauses (transformer_tf.clauses), so it is cut
LONG = "We drove from Berlin to Warsaw and on to Rome and Paris and Madrid in the old red car."


@pytest.mark.parametrize("server", ["tiny_server", "fixed_server", "ct2_server"])
def test_a_sentence_cut_to_the_models_length_is_said_in_the_answer_not_on_the_terminal(request, server, tiny):
    """On both engines and both batchings: the answer names the sentence cut and its tokens (as the model read
    it: with its places' stand-ins), and the server's terminal stays quiet (it said it once per request)."""
    server = request.getfixturevalue(server)
    status, answer = server.request("POST", "/api/translate", {"sentences": ["Tom is tired.", f"Hi. {LONG}"]})
    tokens = len(tiny.source_tokenizer.encode([with_stand_ins(LONG)[0]])[0])
    assert status == 200 and tokens > tiny.max_tokens == 24
    assert answer["warnings"] == [cut_message("sentences[1], sentence 2", LONG, tokens, 24)]
    assert server.request("POST", "/api/translate", {"sentences": TEXTS})[1]["warnings"] == []
    # short clauses, its code-switched retry's too ("Berlín", "Varsovia"): read in clauses, not cut
    in_clauses = "We drove from Berlin, to Warsaw, and on to Rome, Paris, Madrid, in the old red car."
    assert len(tiny.source_tokenizer.encode([with_stand_ins(in_clauses)[0]])[0]) > 24  # too long whole
    assert server.request("POST", "/api/translate", {"sentences": [in_clauses]})[1]["warnings"] == []
    status, data = server.request("POST", "/api/attention", {"sentence": LONG})  # its pieces: no stand-ins
    assert data["warnings"] == [cut_message("the sentence", LONG, len(tiny.source_tokenizer.encode([LONG])[0]), 24)]
    server.request("GET", "/api/health")
    deadline = time.monotonic() + 1  # what the server writes reaches self.stderr through a reading thread
    while "the model reads" not in "".join(server.stderr) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "the model reads" not in "".join(server.stderr)


def test_cuts_are_recorded_on_their_own_thread_and_still_warned_on_the_others(tiny):
    """``cuts_recorded`` holds for its thread only (``warnings.catch_warnings`` would silence every thread):
    the command line's ``translate`` still warns while a server's decode thread records."""
    inside, release = threading.Event(), threading.Event()

    def record():
        with cuts_recorded() as cuts:
            inside.set()
            release.wait(30)
            tiny.encode_sources([LONG])
        return cuts

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        recorded = pool.submit(record)
        assert inside.wait(30)
        with pytest.warns(UserWarning, match="longer than the 24 tokens the model reads"):
            tiny.translate([LONG], progress=False)
        release.set()
        assert recorded.result() == {LONG: len(tiny.source_tokenizer.encode([LONG])[0])}


def assert_stages_add_up(before, after, requests):
    """``/api/health``'s stages of a request (transformer_tf.serve_stages) count each request once, and the
    batcher's stages of a job fit inside the time its handler waited for the batcher."""
    timed, jobs = after["request_seconds"], after["job_seconds"]
    assert timed["requests"] - before["request_seconds"]["requests"] == requests
    assert jobs["jobs"] - before["job_seconds"]["jobs"] == requests
    spent = {name: jobs[name] - before["job_seconds"][name] for name in ("queue", "gather", "decode")}
    waited = timed["batcher"] - before["request_seconds"]["batcher"]
    assert spent["decode"] > 0 and min(spent.values()) >= 0
    assert waited >= sum(spent.values()) - 1e-5  # and the rest: the results' way back to the event loop
    assert timed["receive"] > before["request_seconds"]["receive"]
    assert timed["respond"] > before["request_seconds"]["respond"]


def test_attention_weights_equal_the_models_arrays(tiny_server, tiny):
    sentence = "He admired her as a great director."
    status, data = tiny_server.request("POST", "/api/attention", {"sentence": sentence})
    assert status == 200
    reference = sentence_attention(tiny, sentence)
    assert data["tokens"]["source"] == reference.source_pieces and data["translation"] == reference.translation
    assert data["tokens"]["target"] == reference.target_pieces
    _, weights = tiny.model(
        (tf.constant([reference.source_ids], tf.int64), tf.constant([reference.target_ids], tf.int64)),
        return_attention=True,
    )
    assert [kind["name"] for kind in data["kinds"]] == ["encoder", "decoder_block1", "decoder_block2"]
    for kind in data["kinds"]:
        for layer in kind["layers"]:
            np.testing.assert_allclose(
                np.array(kind["weights"][layer - 1]),
                weights[KINDS[kind["name"]][0].format(i=layer)].numpy()[0],
                atol=1e-6,
            )


def test_models_health_and_openapi_describe_the_server(tiny_server, trained_dir):
    status, answer = tiny_server.request("GET", "/api/models")
    assert status == 200
    (model,) = answer["models"]
    assert model["name"] == "ckpt" and model["description"].startswith("Transformer, 1 layers × 4 heads")
    assert model["engine"] == "tensorflow"  # auto with --batching continuous: the decode loop is TensorFlow's
    assert model["config"] == json.loads((trained_dir / "config.json").read_text())
    assert answer["limits"] == {"max_body_bytes": 4096, "max_sentences": 8, "max_chars": 200, "max_beam": 4}
    _, health = tiny_server.request("GET", "/api/health")
    assert health["status"] == "ok" and health["engines"] == {"ckpt": "tensorflow"} and health["decode_threads"] == 1
    # serve froze what it had loaded (TensorFlow, Keras, the model): no full collection walks it mid-request
    assert health["gc"]["frozen_objects"] > 100_000 and len(health["gc"]["collections"]) == 3
    status, spec = tiny_server.request("GET", "/openapi.json")
    assert status == 200 and {"/api/translate", "/api/attention", "/api/models", "/api/health"} <= spec["paths"].keys()
    operations = [op for path in spec["paths"].values() for op in path.values()]
    assert len({op["operationId"] for op in operations}) == len(operations)  # unique, as OpenAPI requires
    # the answers the spec describes are the ones the server gives: the translation, and every refusal
    schemas, translate = spec["components"]["schemas"], spec["paths"]["/api/translate"]["post"]["responses"]
    answer_schema = translate["200"]["content"]["application/json"]["schema"]
    assert answer_schema == {"$ref": "#/components/schemas/TranslateAnswer"}
    assert set(schemas["TranslateAnswer"]["required"]) == set(tiny_server.request(*T, {"sentences": ["Hi."]})[1])
    for route in ("/api/translate", "/api/attention"):
        refusals = spec["paths"][route]["post"]["responses"]
        assert {"400", "413", "415", "422"} <= refusals.keys()
        for status in ("400", "413", "415", "422"):
            assert refusals[status]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorAnswer"
            }
    assert set(schemas["ErrorAnswer"]["properties"]) == set(tiny_server.request(*T, {"sentences": []})[1])
    assert tiny_server.request("GET", "/docs")[0] == 404  # Swagger UI would load scripts from a CDN


def chunked_body(size):
    """A body of about ``size`` bytes with no Content-Length: http.client sends it chunked."""
    yield b'{"sentences": ["'
    for _ in range(size // 1000):
        yield b"a" * 1000
    yield b'"]}'


T, A = ("POST", "/api/translate"), ("POST", "/api/attention")
BAD_REQUESTS = {  # name: ((method, path), request keywords, status, words of the error, the limit named)
    "body too large": (T, {"body": {"sentences": ["a" * 5000]}}, 413, "4,096 bytes", "max_body_bytes"),
    "chunked body too large": (T, {"raw": chunked_body(10_000)}, 413, "4,096 bytes", "max_body_bytes"),
    # read to its end before the answer, so the client is not cut off while still sending
    "chunked body far too large": (T, {"raw": chunked_body(300_000)}, 413, "4,096 bytes", "max_body_bytes"),
    "body far too large": (T, {"body": {"sentences": ["a" * 300_000]}}, 413, "4,096 bytes", "max_body_bytes"),
    "too many sentences": (T, {"body": {"sentences": ["Hi."] * 9}}, 422, "9 given; the limit is 8", "max_sentences"),
    "sentence too long": (
        T,
        {"body": {"sentences": ["Hi.", "a " * 101]}},
        422,
        "sentences[1] has 202 characters; the limit is 200",
        "max_chars",
    ),
    "attention sentence too long": (A, {"body": {"sentence": "a" * 201}}, 422, "the limit is 200", "max_chars"),
    "beam too wide": (T, {"body": {"sentences": ["Hi."], "beam": 5}}, 422, "beam 5: give 1 (greedy) to 4", "max_beam"),
    "beam zero": (T, {"body": {"sentences": ["Hi."], "beam": 0}}, 422, "beam 0", "max_beam"),
    "invalid JSON": (T, {"raw": b'{"sentences": ["Hi."'}, 400, "not valid JSON", None),
    "not an object": (T, {"body": ["Hi."]}, 422, "valid dictionary", None),
    "sentences not a list": (T, {"body": {"sentences": "Hi."}}, 422, "sentences: Input should be a valid list", None),
    "a sentence not a string": (
        T,
        {"body": {"sentences": ["Hi.", 3]}},
        422,
        "sentences.1: Input should be a valid string",
        None,
    ),
    "beam a string": (
        T,
        {"body": {"sentences": ["Hi."], "beam": "2"}},
        422,
        "beam: Input should be a valid integer",
        None,
    ),
    "beam a boolean": (
        T,
        {"body": {"sentences": ["Hi."], "beam": True}},
        422,
        "beam: Input should be a valid integer",
        None,
    ),
    "unknown field": (T, {"body": {"sentences": ["Hi."], "beams": 2}}, 422, "beams: Extra inputs", None),
    "unknown model": (
        T,
        {"body": {"sentences": ["Hi."], "model": "en_fr"}},
        422,
        "unknown model 'en_fr': this server has ckpt",
        None,
    ),
    "no sentences": (T, {"body": {"sentences": []}}, 422, "sentences is empty", None),
    "blank sentence": (T, {"body": {"sentences": ["Hi.", "  "]}}, 422, "sentences[1] is empty", None),
    "missing sentences": (T, {"body": {}}, 422, "sentences: Field required", None),
    "blank attention sentence": (A, {"body": {"sentence": ""}}, 422, "sentence is empty", None),
    # format characters (Unicode Cf), which str.strip keeps: the translation was empty, the attention made up
    "zero-width space": (
        T,
        {"body": {"sentences": ["Hi.", "\u200b"]}},
        422,
        "sentences[1] is empty (only invisible",
        None,
    ),
    "invisible attention sentence": (
        A,
        {"body": {"sentence": " \u200b\u2060 "}},
        422,
        "sentence is empty (only invisible characters, e.g. U+200B): give some English text.",
        None,
    ),
    "a Hangul filler": (A, {"body": {"sentence": "\u3164"}}, 422, "sentence is empty (only invisible", None),
    "control characters": (
        T,
        {"body": {"sentences": ["\x07\x01"]}},
        422,
        "sentences[0] is empty (only invisible",
        None,
    ),
    "not JSON content": (
        T,
        {"raw": b"sentences=Hi.", "headers": {"Content-Type": "text/plain"}},
        415,
        "Content-Type: application/json",
        None,
    ),
    "unknown path": (("GET", "/api/translations"), {}, 404, "no route GET /api/translations: the routes are", None),
    "wrong method": (("GET", "/api/translate"), {}, 405, "GET /api/translate: this route takes POST", None),
    # a JSON "\\ud800" escape alone: no engine can encode it, and it failed its whole decode batch (500)
    "lone surrogate": (T, {"raw": b'{"sentences": ["Hi \\ud800."]}'}, 422, "sentences[0] has a lone UTF-16", None),
    "attention lone surrogate": (A, {"raw": b'{"sentence": "\\udfff"}'}, 422, "sentence has a lone UTF-16", None),
    "trailing slash": (("POST", "/api/translate/"), {"body": {}}, 404, "use POST /api/translate (no trailing", None),
    "not UTF-8": (T, {"raw": '{"sentences": ["Olé."]}'.encode("latin-1")}, 400, "not valid JSON (UTF-8)", None),
    "nested too deep": (T, {"raw": b"[" * 2000 + b"]" * 2000}, 400, "not valid JSON (UTF-8)", None),
    "empty body": (A, {"raw": b""}, 422, 'the body is empty: send a JSON object, e.g. {"sentence"', None),
    "JSON sent as text/json": (
        T,
        {"body": {"sentences": ["Hi."]}, "headers": {"Content-Type": "text/json"}},
        415,
        "Content-Type: application/json",
        None,
    ),
}


@pytest.mark.parametrize("name", BAD_REQUESTS)
def test_every_bad_request_gets_its_4xx_json_naming_the_problem(tiny_server, name):
    (method, path), keywords, expected, words, limit = BAD_REQUESTS[name]
    status, answer = tiny_server.request(method, path, **keywords)
    assert status == expected, answer
    assert isinstance(answer, dict) and words in answer["error"], answer
    assert answer["limit"] == limit
    assert tiny_server.request("GET", "/api/health")[0] == 200  # and the server goes on


def test_get_routes_answer_head_and_a_405_names_the_allowed_methods(tiny_server):
    """HEAD (``curl -I``, uptime checks) gets a GET route's headers without the body; a 405 keeps its
    ``Allow`` header (RFC 9110 requires both)."""
    connection = http.client.HTTPConnection(tiny_server.host_port, timeout=60)
    try:
        for path in ("/", "/api/health", "/api/models", "/openapi.json"):
            connection.request("HEAD", path)
            response = connection.getresponse()
            assert (response.status, response.read()) == (200, b""), path
            assert int(response.getheader("content-length")) > 0, path
        connection.request("DELETE", "/api/attention")
        response = connection.getresponse()
        assert response.status == 405 and response.getheader("allow") == "POST"
        assert json.loads(response.read())["error"].startswith("DELETE /api/attention: this route takes POST")
    finally:
        connection.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    "sig, batching",
    [(signal.SIGTERM, "continuous"), (signal.SIGINT, "continuous"), (signal.SIGTERM, "fixed"), (signal.SIGTERM, "ct2")],
    ids=["SIGTERM", "SIGINT", "SIGTERM-fixed", "SIGTERM-ctranslate2"],
)
def test_a_signal_finishes_the_requests_in_flight_then_exits_0(request, trained_dir, tiny, sig, batching):
    # the requests are surely in flight when the signal comes: a fixed batch waits a second for
    # company after the latest (its 4 × 16 sentences do not fill --max-batch 100); the decode loop
    # has one slot for them, decoded one after the other
    wait = ["--batch-wait-ms", "1000", "--max-batch", "100"]
    flags = {
        "fixed": ["--checkpoint-dir", trained_dir, "--engine", "tensorflow", *wait],
        "continuous": ["--checkpoint-dir", trained_dir, "--batching", "continuous", "--slots", "1"],
    }
    if batching == "ct2":  # the copy the CTranslate2 server converted, with the default engine
        folder = request.getfixturevalue("ct2_server").folder  # one decode thread: it waits for company
        flags["ct2"] = ["--checkpoint-dir", folder, "--decode-threads", "1", *wait]
        tiny = request.getfixturevalue("ct2")
    server = Server(*flags[batching])
    requests = [[f"Tom has {n} red apples." for n in range(k, k + 16)] for k in (2, 20, 40, 60)]
    try:
        with concurrent.futures.ThreadPoolExecutor(len(requests)) as pool:
            answers = [
                pool.submit(server.request, "POST", "/api/translate", {"sentences": texts}) for texts in requests
            ]
            deadline = time.monotonic() + 30
            while server.request("GET", "/api/health")[1]["in_flight"] < len(requests):
                assert time.monotonic() < deadline, "the requests never arrived"
                time.sleep(0.01)
            status, output = server.stop(sig)
            answers = [answer.result() for answer in answers]
    finally:  # a failed check above leaves no server running
        if server.process.poll() is None:
            server.process.kill()
    assert status == 0
    assert [code for code, _ in answers] == [200] * len(requests)
    assert [answer["translations"] for _, answer in answers] == [tiny.translate(texts) for texts in requests]
    assert f"stopped ({sig.name})" in output and "Traceback" not in "".join(server.stderr)
    with pytest.raises(ConnectionRefusedError):
        server.request("GET", "/api/health")


def test_cli_refuses_bad_flags_and_warns_before_serving_another_host(trained_dir, tmp_path, capsys):
    from transformer_tf.cli import main

    assert main(["serve", "--checkpoint-dir", str(trained_dir), "--max-chars", "0"]) == 2
    assert main(["serve", "--checkpoint-dir", str(trained_dir), "--port", "70000"]) == 2
    assert main(["serve", "--checkpoint-dir", str(trained_dir), "--decode-threads", "0"]) == 2
    assert main(["serve", "--checkpoint-dir", str(trained_dir), "--slots", "0"]) == 2
    assert main(["serve", "--checkpoint-dir", str(trained_dir), "--intra-op-threads", "-1"]) == 2
    assert main(["serve", "--checkpoint-dir", str(trained_dir), "--max-beam", "257"]) == 2
    with unittest.mock.patch("importlib.util.find_spec", return_value=None):  # uvloop, not installed
        assert main(["serve", "--checkpoint-dir", str(trained_dir), "--event-loop", "uvloop"]) == 2
    # these bind their port before the models load: 0, not the default 8000 another server may hold
    assert (
        main(["serve", "--port", "0", "--checkpoint-dir", str(trained_dir), "--checkpoint-dir", str(trained_dir)]) == 2
    )
    assert main(["serve", "--port", "0", "--checkpoint-dir", str(tmp_path / "none"), "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert "warning: listening on 0.0.0.0: anyone who can reach this machine" in err
    assert "--max-chars 0: give a whole number ≥ 1" in err and "--port 70000" in err
    assert "--decode-threads 0: give a whole number ≥ 1" in err and "--slots 0: give a whole number ≥ 1" in err
    assert "--intra-op-threads -1: give 0 (every core) or more" in err
    assert "--max-beam 257: give at most 256 (translate's widest beam)" in err
    assert "--event-loop uvloop: uvloop is not installed; pip install uvloop, or use asyncio." in err
    assert "a model named 'ckpt' is already served" in err and "Traceback" not in err


def test_cli_refuses_a_port_in_use_before_loading_the_models(trained_dir, capsys):
    """The address is bound first: a port another program holds is one line naming the fix, at once,
    not a bare "[Errno 98]" after the seconds the models take to load."""
    import socket

    from transformer_tf.cli import main

    with socket.socket() as taken, unittest.mock.patch("transformer_tf.serve_models.load_models") as load:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["serve", "--checkpoint-dir", str(trained_dir), "--port", str(port)]) == 2
    assert not load.called
    err = capsys.readouterr().err
    assert f"--host 127.0.0.1 --port {port}: cannot listen there (Address already in use)" in err
    assert "give another --port (0: any free one)" in err and "Traceback" not in err


def test_cli_refuses_ctranslate2_with_the_decode_loop_or_for_the_rnn(trained_dir, tmp_path, capsys):
    from transformer_tf.cli import main
    from transformer_tf.config import TrainConfig

    def converted():  # the shared model's CTranslate2 cache (another test may have made it), as files and times
        return {str(p): p.stat().st_mtime_ns for p in (trained_dir / "ctranslate2").rglob("*")}

    TrainConfig(model="rnn").save(tmp_path)
    before = converted()
    with pytest.raises(SystemExit) as exited:  # argparse: not one of the choices
        main(["serve", "--checkpoint-dir", str(trained_dir), "--engine", "onnx"])
    assert exited.value.code == 2
    assert "invalid choice: 'onnx'" in capsys.readouterr().err
    ct2 = ["serve", "--engine", "ctranslate2", "--checkpoint-dir"]
    assert main([*ct2, str(trained_dir), "--batching", "continuous"]) == 2
    assert main([*ct2, str(trained_dir), "--checkpoint-dir", str(tmp_path)]) == 2  # refused before any model loads
    err = capsys.readouterr().err
    assert "--batching continuous is TensorFlow's decode loop: give --engine tensorflow (or auto)" in err
    assert f"{tmp_path} holds a 'rnn' model: CTranslate2 runs Transformers only" in err and "Traceback" not in err
    assert converted() == before  # nothing was converted


def test_the_servers_connections_send_each_write_at_once():
    """Accepted connections have ``TCP_NODELAY`` and are TCP sockets to asyncio (which then sets it too):
    an answer's body never waits for the client's delayed acknowledgement of its headers."""
    import socket

    from transformer_tf.serve import listening_socket

    with listening_socket("127.0.0.1", 0) as sock:
        sock.listen(1)
        with socket.create_connection(sock.getsockname()):
            connection, _ = sock.accept()
            with connection:
                assert connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
                assert connection.proto == socket.IPPROTO_TCP


def test_serve_freezes_what_is_loaded_while_it_serves_and_unfreezes_after(monkeypatch):
    """The collector's full passes skip the loaded models while the server runs (a pass over TensorFlow's
    objects took 300 ms and held up every request); a caller that goes on gets its collector back."""
    import gc

    from transformer_tf import serve as serve_module

    seen = {}

    class Server:  # uvicorn's, stood in for: it returns at once
        stopped_by = None

        def run(self, sockets):
            seen["frozen while serving"] = gc.get_freeze_count()
            sockets[0].close()

    monkeypatch.setattr(serve_module, "_graceful_server", lambda config: Server())
    serve_module.serve(object(), port=0, announce=lambda line: None)
    assert seen["frozen while serving"] > 10_000 and gc.get_freeze_count() == 0


def ask(browser, text, model=None):
    """Type ``text``, pick ``model``, submit; wait until the explorer has drawn the answer."""
    from selenium.webdriver.support.ui import Select, WebDriverWait

    loads = browser.execute_script("return window.attentionExplorer.loads")
    box = browser.find_element("id", "text")
    box.clear()
    box.send_keys(text)
    if model:
        Select(browser.find_element("id", "model-picker")).select_by_value(model)
    browser.find_element("id", "submit").click()
    WebDriverWait(browser, 120).until(
        lambda d: (
            d.execute_script("return window.liveExplorer.status !== 'busy'")
            and d.execute_script("return window.attentionExplorer.loads") > loads
        )
    )
    return browser.execute_script("return window.attentionExplorer.data")


HOLD_FIRST_ATTENTION = """
window.drawn = [];  // the sentences explorer.js was given, in order
const load = window.attentionExplorer.load.bind(window.attentionExplorer);
window.attentionExplorer.load = (data) => { window.drawn.push(data.sentence); return load(data); };
const fetched = window.fetch;
let attention = 0;
window.fetch = async (path, init) => {  // the first attention answer comes after the second is drawn
  const answer = await fetched(path, init);
  if (path === "/api/attention" && attention++ === 0) {
    while (!window.drawn.length) await new Promise((resolve) => setTimeout(resolve, 20));
    window.released = true;
  }
  return answer;
};
"""


def test_live_page_submits_on_ctrl_enter_draws_the_sentence_chosen_last_and_says_why_a_request_failed(
    tiny_server, browser
):
    """Enter is a new line and Ctrl+Enter translates; a sentence of the list is chosen by keyboard too
    (focus, Enter); of two sentences clicked in turn the view draws the second even when the first one's
    answer comes later (it drew the first, under the second's mark); a sentence cut to the model's length
    is said on the page (the answer's warnings), and the note goes with the next answer; an answer that
    is not JSON, or none, reads as its status, or as a line naming the server."""
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
    from test_explorer import errors

    def settled(condition="true"):
        WebDriverWait(browser, 60).until(
            lambda d: d.execute_script(f"return window.liveExplorer.status !== 'busy' && ({condition})")
        )

    browser.get(tiny_server.url + "/")
    WebDriverWait(browser, 60).until(lambda d: d.execute_script("return Boolean(window.liveExplorer)"))
    box = browser.find_element("id", "text")
    box.send_keys("Tom is tired.", Keys.ENTER)
    assert browser.execute_script("return window.liveExplorer.requests") == 0  # Enter: a new line
    box.send_keys("Where is the station? I am lost.", Keys.CONTROL, Keys.ENTER)
    settled("window.attentionExplorer.loads > 0")
    items = browser.find_elements("css selector", "#sentences li")
    assert [li.find_element("css selector", ".source").text for li in items] == [
        "Tom is tired.",
        "Where is the station?",
        "I am lost.",
    ]

    loads = browser.execute_script("return window.attentionExplorer.loads")
    items[1].send_keys(Keys.ENTER)  # a sentence chosen by keyboard: focused, then Enter
    settled(f"window.attentionExplorer.loads > {loads}")
    assert browser.find_element("id", "sentence").text == "Where is the station?"

    browser.execute_script(HOLD_FIRST_ATTENTION)
    items[0].click()
    items[2].click()
    settled("window.released === true")
    assert browser.execute_script("return window.drawn") == ["I am lost."]
    assert browser.find_element("id", "sentence").text == "I am lost."
    assert browser.find_element("css selector", "#sentences li.chosen .source").text == "I am lost."

    assert not browser.find_element("id", "notes").is_displayed()  # nothing cut so far
    browser.execute_script("document.getElementById('text').value = arguments[0]", f"Hi. {LONG}")
    browser.find_element("id", "submit").click()
    settled()
    notes = browser.find_element("id", "notes")
    assert notes.is_displayed() and notes.text.startswith('⚠ sentence 2 ("')  # the answer's, as text
    assert "longer than the 24 tokens the model reads: only its start is translated." in notes.text
    browser.execute_script("document.getElementById('text').value = 'Tom is tired.'")
    browser.find_element("id", "submit").click()
    settled()
    assert not browser.find_element("id", "notes").is_displayed()

    # a text of only emoji: given back as it is, and no attention (the model reads nothing of it); the view
    # of the sentence before is hidden, not left under the new one's mark, and comes back with the next
    browser.execute_script("document.getElementById('text').value = arguments[0]", "👍 🎉")
    browser.find_element("id", "submit").click()
    settled()
    assert browser.find_element("css selector", "#sentences li .target").text == "👍 🎉"
    assert "the sentence is only emoji" in browser.find_element("id", "error").text
    assert not any(browser.find_element("id", i).is_displayed() for i in ("about", "head-section", "heatmap-section"))
    loads = browser.execute_script("return window.attentionExplorer.loads")
    browser.execute_script("document.getElementById('text').value = 'Tom is tired. 👍'")
    browser.find_element("id", "submit").click()
    settled(f"window.attentionExplorer.loads > {loads}")
    assert browser.find_element("id", "head-section").is_displayed() and not browser.find_element("id", "error").text
    assert browser.find_element("id", "sentence").text == "Tom is tired. 👍"  # its pieces: what the model read

    browser.execute_script(
        "window.fetch = async () => new Response('<html>proxy error</html>', {status: 502, statusText: 'Bad Gateway'})"
    )
    browser.find_element("id", "submit").click()
    settled()
    assert browser.find_element("id", "error").text == "⚠ 502 Bad Gateway"
    browser.execute_script("window.fetch = async () => { throw new TypeError('Failed to fetch'); }")
    browser.find_element("id", "submit").click()
    settled()
    assert "no answer from the server (Failed to fetch): is transformer-tf serve still running?" in (
        browser.find_element("id", "error").text
    )
    # the one console line: the browser's own note of the 422 that the emoji-only text's attention got
    logged = errors(browser.get_log("browser"))
    assert len(logged) == 1 and "/api/attention" in logged[0] and "status of 422" in logged[0], logged


@pytest.mark.slow
def test_live_page_translates_draws_attention_switches_model_and_runs_no_injected_script(browser):
    """The shipped models (the default folders): type, submit, see the translation, the head view;
    the RNN's one cross-attention map; no console error, no request outside the server."""
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.support.ui import WebDriverWait
    from test_explorer import drawn_lines, errors, expected_lines, views_data

    from transformer_tf.engines import open_translator

    server = Server(cwd=ROOT)  # no --checkpoint-dir: checkpoints/en_es and checkpoints/en_es_rnn
    try:
        browser.get(server.url + "/")
        WebDriverWait(browser, 60).until(lambda d: d.execute_script("return Boolean(window.liveExplorer)"))
        shipped = {folder.name: Translator.from_checkpoint(folder) for folder in SHIPPED}

        sentence = "He admired her as a great director."
        data = ask(browser, sentence)
        # the list's translation: the engine's (CTranslate2); the attention view's: the Keras model's
        engine_translation = open_translator(SHIPPED[0]).translate(sentence)
        assert browser.find_element("css selector", "#sentences li .target").text == engine_translation
        expected = shipped["en_es"].translate(sentence)
        assert browser.find_element("id", "translation").text == expected == data["translation"]
        assert [kind["name"] for kind in data["kinds"]] == ["encoder", "decoder_block1", "decoder_block2"]
        assert drawn_lines(browser) == expected_lines(np.array(data["kinds"][0]["weights"][0]))
        assert len(views_data(browser, "model")) == 4 * 8

        data = ask(browser, sentence, model="en_es_rnn")
        reference = sentence_attention(shipped["en_es_rnn"], sentence)
        assert browser.find_element("css selector", "#sentences li .target").text == reference.translation
        assert [o.text for o in browser.find_elements("css selector", "#kind option")] == [
            "Bahdanau (additive) attention"
        ]
        assert len(views_data(browser, "model")) == 1  # one layer × one head
        np.testing.assert_allclose(data["kinds"][0]["weights"], [reference.matrix("cross", 1)], atol=1e-6)
        np.testing.assert_allclose(views_data(browser, "heatmap")[0]["z"], reference.matrix("cross", 1)[0], atol=1e-6)

        payload = '"><img src=x onerror=alert(1)>'
        ask(browser, payload, model="en_es")
        with pytest.raises(NoAlertPresentException):
            browser.switch_to.alert.accept()
        assert browser.find_element("id", "sentence").text == payload
        assert browser.find_element("css selector", "#sentences li .source").text == payload
        assert not browser.find_elements("css selector", "header img, #sentences img")

        assert errors(browser.get_log("browser")) == []
        resources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert resources and all(url.startswith((server.url + "/", "data:", "blob:")) for url in resources), resources
        assert server.url + "/x" not in resources  # the payload's <img src=x> was never an element
    finally:
        status, _ = server.stop()
    assert status == 0
