"""The interactive attention explorer page (issue 16), opened in a real headless Chromium."""

import html
import json
import os
import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from headless import open_explorer  # tests/headless.py

from transformer_tf.attention_maps import KINDS, attention_pass, sentence_attention
from transformer_tf.cli import main
from transformer_tf.explorer import (
    PAGE_NAME,
    AttentionKind,
    attention_page,
    page_data,
    sentence_page,
    show_attention,
    write_attention_page,
)
from transformer_tf.model import Transformer
from transformer_tf.translate import Translator

SENTENCE = "He admired her as a great director."
LAYERS, HEADS = 2, 4
BINS = 20  # explorer.js draws a line's opacity as its weight rounded to 1/20


@pytest.fixture(scope="module")
def translator(trained_dir):
    """The tiny trained translator's tokenizers with an untrained 2-layer model: two layers
    to switch between (the trained fixture has one); the weights only need to be the model's."""
    trained = Translator.from_checkpoint(trained_dir)
    keras.utils.set_random_seed(7)
    model = Transformer(
        LAYERS,
        32,
        HEADS,
        64,
        trained.source_tokenizer.vocab_size,
        trained.target_tokenizer.vocab_size,
        trained.max_tokens,
        trained.max_tokens,
    )
    model.build(((None, None), (None, None)))
    return Translator(model, trained.source_tokenizer, trained.target_tokenizer, trained.max_tokens)


@pytest.fixture(scope="module")
def attention(translator):
    return sentence_attention(translator, SENTENCE)


@pytest.fixture(scope="module")
def page_path(attention, tmp_path_factory):
    return write_attention_page(sentence_page(attention, "tiny/folder"), tmp_path_factory.mktemp("page") / PAGE_NAME)


def page_json(page):
    """The data block of a page's HTML text."""
    return json.loads(re.search(r'id="attention-data">(.*?)</script>', page, re.S).group(1))


def errors(log):
    return [entry["message"] for entry in log if entry["level"] == "SEVERE"]


def views_data(browser, view):
    return browser.execute_script(f"return document.getElementById('{view}-view').data")


def drawn_lines(browser):
    """The head view's line segments as a set of (head, opacity bin, query, key): a line
    ends within a third of a row of its token (the heads side by side)."""
    segments = set()
    for trace in views_data(browser, "head"):
        if trace.get("mode") == "lines":
            ys = trace["y"]
            for q, k in zip(ys[0::3], ys[1::3]):
                segments.add((trace["meta"]["head"], round(trace["meta"]["weight"] * BINS), -round(q), -round(k)))
    return segments


def expected_lines(weights):
    """What the head view should draw for ``(heads, queries, keys)`` weights, all heads on."""
    bins = np.floor(np.round(weights, 6) * BINS + 0.5).astype(int)  # JavaScript's Math.round
    return {(h, b, q, k) for (h, q, k), b in np.ndenumerate(bins) if b > 0}


def select(browser, element_id, value):
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element("id", element_id)).select_by_value(str(value))


def test_page_draws_every_view_offline_without_console_errors(browser, page_path):
    log = open_explorer(browser, page_path)
    assert errors(log) == []
    resources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert all(url.startswith(("file:", "data:", "blob:")) for url in resources), resources
    assert not re.search(r'<(script|link)[^>]+(src|href)="https?:', page_path.read_text(encoding="utf-8"))
    assert len(views_data(browser, "model")) == LAYERS * HEADS  # one heatmap per layer × head
    assert views_data(browser, "heatmap")[0]["type"] == "heatmap"
    assert drawn_lines(browser)
    assert browser.find_elements("css selector", "#model-view .heatmaplayer image")  # Plotly drew them


def test_page_shows_the_sentence_translation_model_and_every_piece(browser, page_path, attention):
    open_explorer(browser, page_path)
    assert browser.find_element("id", "sentence").text == SENTENCE
    assert browser.find_element("id", "translation").text == attention.translation.strip()
    assert browser.find_element("id", "model").text == "tiny/folder"
    # the decoder input is <start> + every generated piece but the last (<end>, or the piece the limit cut after)
    assert attention.translation_pieces[:-1] == attention.target_pieces[1:]
    shown = [p.text for p in browser.find_elements("css selector", "header .piece")]
    assert shown == attention.source_pieces + attention.target_pieces + attention.translation_pieces
    select(browser, "kind", list(KINDS).index("decoder_block2"))  # target queries × source keys
    drawn = [t.text for t in browser.find_elements("css selector", "#head-view .textpoint")]
    assert drawn == attention.target_pieces + attention.source_pieces


def test_page_weights_equal_the_models_attention_arrays(browser, page_path, attention, translator):
    open_explorer(browser, page_path)
    data = browser.execute_script("return window.attentionExplorer.data")
    _, weights = translator.model(
        (tf.constant([attention.source_ids], tf.int64), tf.constant([attention.target_ids], tf.int64)),
        return_attention=True,
    )
    assert (
        [kind["name"] for kind in data["kinds"]] == attention.kinds == ["encoder", "decoder_block1", "decoder_block2"]
    )
    for kind in data["kinds"]:
        assert kind["layers"] == [1, 2]
        for layer in kind["layers"]:
            np.testing.assert_allclose(
                np.array(kind["weights"][layer - 1]),
                weights[KINDS[kind["name"]][0].format(i=layer)].numpy()[0],
                atol=1e-6,
            )


def test_layer_selector_changes_the_drawn_weights(browser, page_path, attention):
    open_explorer(browser, page_path)
    assert drawn_lines(browser) == expected_lines(attention.matrix("encoder", 1))
    before = np.array(views_data(browser, "heatmap")[0]["z"])
    select(browser, "layer", 1)  # option values are 0-based layer indices: this is layer 2
    assert drawn_lines(browser) == expected_lines(attention.matrix("encoder", 2))
    after = np.array(views_data(browser, "heatmap")[0]["z"])
    np.testing.assert_allclose(after, attention.matrix("encoder", 2)[0], atol=1e-6)
    assert not np.allclose(before, after, atol=1e-3)


def test_hovering_a_token_keeps_only_its_lines(browser, page_path, attention):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support.ui import WebDriverWait

    open_explorer(browser, page_path)
    pieces = attention.source_pieces
    query = max(range(len(pieces)), key=lambda i: len(pieces[i]))  # the pointer on its text's middle, far from its end
    token = browser.find_elements("css selector", "#head-view .textpoint")[query]  # left column: queries
    ActionChains(browser).move_to_element(token).perform()
    WebDriverWait(browser, 10).until(lambda d: d.execute_script("return window.attentionExplorer.state.focus"))
    lines = drawn_lines(browser)
    assert lines and {q for _, _, q, _ in lines} == {query}
    assert lines == {line for line in expected_lines(attention.matrix("encoder", 1)) if line[2] == query}


def test_head_toggle_and_model_view_click_open_one_layer_and_head(browser, page_path, attention):
    from selenium.webdriver.common.action_chains import ActionChains

    open_explorer(browser, page_path)
    browser.find_element("css selector", "#head-toggles input[data-head='0']").click()
    assert {h for h, *_ in drawn_lines(browser)} == {1, 2, 3}
    panel = browser.find_elements("css selector", "#model-view .nsewdrag")[HEADS + 2]  # layer 2, head 3
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", panel)
    ActionChains(browser).move_to_element(panel).click().perform()
    assert browser.find_element("id", "layer").get_attribute("value") == "1"
    assert browser.find_element("id", "head").get_attribute("value") == "2"
    assert drawn_lines(browser) == {line for line in expected_lines(attention.matrix("encoder", 2)) if line[0] == 2}
    np.testing.assert_allclose(views_data(browser, "heatmap")[0]["z"], attention.matrix("encoder", 2)[2], atol=1e-6)


def test_a_single_cross_attention_gets_the_same_page(browser, tmp_path):
    """An RNN encoder–decoder's one attention: one layer × one head, kind "cross"."""
    rng = np.random.default_rng(0)
    source, target = (
        ["<start>", "▁He", "▁admired", "▁her", ".", "<end>"],
        ["<start>", "▁La", "▁admiraba", "."],
    )
    weights = rng.dirichlet(np.ones(len(source)), size=(1, 1, len(target)))  # (layers, heads, target, source)
    kind = AttentionKind("cross", "attention (Bahdanau)", "target", "source", weights)
    path = write_attention_page(
        attention_page([kind], {"source": source, "target": target}, "He admired her.", "La admiraba.", "rnn/folder"),
        tmp_path / PAGE_NAME,
    )
    assert errors(open_explorer(browser, path)) == []
    assert [o.text for o in browser.find_elements("css selector", "#kind option")] == ["attention (Bahdanau)"]
    assert [o.text for o in browser.find_elements("css selector", "#layer option")] == ["1"]
    assert len(views_data(browser, "model")) == 1
    assert drawn_lines(browser) == expected_lines(weights[0])
    np.testing.assert_allclose(views_data(browser, "heatmap")[0]["z"], weights[0, 0], atol=1e-6)
    drawn = [t.text for t in browser.find_elements("css selector", "#head-view .textpoint")]
    assert drawn == target + source


def test_the_compiled_attention_pass_gives_the_eager_weights_in_one_trace(translator):
    assert_compiled_pass_matches_eager(translator, [SENTENCE, "I am here.", "Where is the station, please?"])


def assert_compiled_pass_matches_eager(translator, sentences):
    """``attention_pass`` (what serve reads) against the model called eagerly: the same translation and
    pieces, every weight within 1e-6 (float32 round-off of the graph's fused ops), one trace for all lengths."""
    forward = attention_pass(translator.model)
    for sentence in sentences:
        eager, compiled = sentence_attention(translator, sentence), sentence_attention(translator, sentence, forward)
        assert compiled.translation == eager.translation and compiled.target_pieces == eager.target_pieces
        assert compiled.weights.keys() == eager.weights.keys()
        for name, weights in eager.weights.items():
            np.testing.assert_allclose(compiled.weights[name], weights, atol=1e-6)
    assert forward.experimental_get_tracing_count() == 1


def test_page_data_refuses_weights_that_do_not_fit_the_tokens():
    tokens = {"source": ["a", "b"], "target": ["x"]}
    with pytest.raises(ValueError, match="do not match the 2 source tokens"):
        page_data([AttentionKind("cross", "cross", "target", "source", np.ones((1, 1, 1, 3)))], tokens, "a", "x")
    with pytest.raises(ValueError, match="no token list 'middle'"):
        page_data([AttentionKind("cross", "cross", "middle", "source", np.ones((1, 1, 1, 2)))], tokens, "a", "x")
    with pytest.raises(ValueError, match=r"\(layers, heads, queries, keys\)"):
        AttentionKind("cross", "cross", "target", "source", np.ones((1, 2)))


def test_page_text_cannot_break_out_of_its_script_or_markup():
    tokens = {"source": ["</script><b>", "&amp;"], "target": ["x"]}
    page = attention_page(
        [AttentionKind("cross", "cross", "target", "source", np.full((1, 1, 1, 2), 0.5))],
        tokens,
        "a </script> & <b>b</b>",
        "x",
        "m",
    )
    data = page_json(page)
    assert data["tokens"]["source"] == ["</script><b>", "&amp;"] and data["sentence"] == "a </script> & <b>b</b>"
    assert re.search(r'<dd id="sentence">(.*?)</dd>', page).group(1) == "a &lt;/script&gt; &amp; &lt;b&gt;b&lt;/b&gt;"
    assert page.count("</script>") == page.count("<script")  # no piece of text closes a script early


def test_a_failed_write_leaves_the_old_page_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / PAGE_NAME
    path.write_text("old page")

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError):
        write_attention_page("new page", path)
    assert path.read_text() == "old page"
    assert [p.name for p in tmp_path.iterdir()] == [PAGE_NAME]


def test_show_attention_displays_the_page_in_an_iframe_that_runs(translator, monkeypatch, browser, tmp_path):
    import IPython.display
    from selenium.webdriver.support.ui import WebDriverWait

    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    show_attention(translator, SENTENCE, folder="tiny/folder")
    (output,) = shown
    srcdoc = html.unescape(re.search(r'srcdoc="(.*?)"', output.data, re.S).group(1))
    data = page_json(srcdoc)
    assert data["sentence"] == SENTENCE and data["model"].startswith("tiny/folder: Transformer, 2 layers × 4 heads")
    # the notebook's output cell, as a page: the frame's scripts run and draw
    (tmp_path / "cell.html").write_text(f"<!DOCTYPE html><html><body>{output.data}</body></html>", encoding="utf-8")
    browser.get((tmp_path / "cell.html").as_uri())
    browser.switch_to.frame(browser.find_element("tag name", "iframe"))
    try:
        WebDriverWait(browser, 60).until(
            lambda d: d.execute_script("return Boolean(window.attentionExplorer && window.attentionExplorer.ready)")
        )
        assert browser.find_element("id", "sentence").text == SENTENCE
        assert len(views_data(browser, "model")) == LAYERS * HEADS
    finally:
        browser.switch_to.default_content()
    assert errors(browser.get_log("browser")) == []


@pytest.mark.slow
def test_cli_writes_the_page_and_warns_on_page_and_terminal_when_a_sentence_is_cut(trained_dir, tmp_path, capsys):
    out = tmp_path / "att"
    long_sentence = " ".join(["director"] * 200)
    assert (
        main(
            [
                "plot-attention",
                long_sentence,
                "--out",
                str(out),
                "--checkpoint-dir",
                str(trained_dir),
                "--kind",
                "decoder_block2",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "warning" in err and "longer than the 24 tokens" in err
    page = (out / PAGE_NAME).read_text(encoding="utf-8")
    data = page_json(page)
    assert [kind["name"] for kind in data["kinds"]] == ["decoder_block2"]
    assert len(data["tokens"]["source"]) == 24 and "longer than the 24 tokens" in data["warnings"][0]
    assert 'class="warning"' in page


def test_cli_refuses_a_file_as_out_and_an_empty_sentence_writing_nothing(trained_dir, tmp_path, capsys):
    afile = tmp_path / "notes.txt"
    afile.write_text("mine")
    assert main(["plot-attention", SENTENCE, "--out", str(afile), "--checkpoint-dir", str(trained_dir)]) == 2
    assert main(["plot-attention", "", "--out", str(tmp_path / "x"), "--checkpoint-dir", str(trained_dir)]) == 2
    err = capsys.readouterr().err
    assert f"--out {afile} is a file: give a folder" in err and "empty" in err and "Traceback" not in err
    assert afile.read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
