"""Size of the attention explorer page and the time to build and write it, for the shipped
model (4 layers × 8 heads) and a sentence of 40 source tokens (the blog setup's limit); with
``--screenshots DIR``, also the head view and the model view of the article's sentence as
PNGs, taken in headless Chromium (what the README shows).

    python bench/explorer_page.py [--rounds 5] [--screenshots notebooks/figures]

Timed: :func:`transformer_tf.explorer.sentence_page` + :func:`write_attention_page` (the
step ``plot-attention`` adds to the PNGs), after the model has run; median of the rounds. Then
what one ``/api/attention`` request of ``transformer-tf serve`` runs before that,
:func:`~transformer_tf.attention_maps.sentence_attention` (the greedy translation and the pass that
returns every attention matrix), with the model called eagerly (as ``plot-attention``) and compiled
(:func:`~transformer_tf.attention_maps.attention_pass`, as ``serve``), the two taking turns on the
article's sentence and the long one; best of the rounds, and the trace of the compiled pass.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cli_common
from transformer_tf.config import DEFAULT_CHECKPOINT_DIR  # no TensorFlow: --help stays fast

cli_common.quiet_tensorflow()  # before TensorFlow loads; TF_CPP_MIN_LOG_LEVEL=0 shows its logs


def build_parser():
    """The command line; it needs no TensorFlow."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint-dir", default=str(DEFAULT_CHECKPOINT_DIR))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--screenshots",
        metavar="DIR",
        help="also save the head and model views of the article's sentence as PNGs there",
    )
    return parser


if __name__ == "__main__":  # --help and a bad flag answer at once, before TensorFlow loads
    build_parser().parse_args()

cli_common.import_tensorflow_quietly()  # TensorFlow's start-up lines, muted (unless TF_CPP_MIN_LOG_LEVEL is set)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # tests/headless.py: the browser the page tests use

from transformer_tf import Translator  # noqa: E402
from transformer_tf.attention_maps import attention_pass, sentence_attention  # noqa: E402
from transformer_tf.explorer import PAGE_NAME, describe_model, sentence_page, write_attention_page  # noqa: E402

LONG_SENTENCE = (
    "He admired her as a great director, and every evening after work they walked together along "
    "the old river, talking about the films they had seen and the books they still wanted to read."
)
ARTICLE_SENTENCE = "He admired her as a great director."
HOVERED = "▁gran"  # the query whose lines the head-view picture shows: it predicts "director"


def measure(translator, folder, rounds):
    attention = sentence_attention(translator, LONG_SENTENCE)
    with tempfile.TemporaryDirectory() as out:
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            path = write_attention_page(
                sentence_page(attention, describe_model(translator, folder)), Path(out) / PAGE_NAME
            )
            times.append(time.perf_counter() - start)
        size = path.stat().st_size
    print(
        f"{len(attention.source_pieces)} source × {len(attention.target_pieces)} target tokens, "
        f"{attention.num_layers} layers × {attention.matrix(attention.kinds[0], 1).shape[0]} heads, "
        f"{len(attention.kinds)} kind{'s' * (len(attention.kinds) > 1)}"
    )
    print(
        f"page: {size / 1e6:.2f} MB; build + write: median {statistics.median(times):.2f} s "
        f"(min {min(times):.2f}, max {max(times):.2f}, {rounds} rounds)"
    )


def measure_attention(translator, rounds):
    """Best ms of ``sentence_attention`` eager and compiled, in turns, per sentence; the trace's seconds."""
    forward = attention_pass(translator.model)
    start = time.perf_counter()
    sentence_attention(translator, "Hello.", forward)
    print(f"attention pass: the compiled one's first call (its trace) {time.perf_counter() - start:.2f} s")
    for sentence in (ARTICLE_SENTENCE, LONG_SENTENCE):
        times = {"eager": [], "compiled": []}
        for _ in range(rounds):
            for name, pass_ in (("eager", None), ("compiled", forward)):
                start = time.perf_counter()
                sentence_attention(translator, sentence, pass_)
                times[name].append(time.perf_counter() - start)
        eager, compiled = (1000 * min(times[name]) for name in ("eager", "compiled"))
        print(
            f"sentence_attention, {len(sentence.split())} words: eager {eager:.0f} ms, compiled {compiled:.0f} ms "
            f"(best of {rounds}; {eager / compiled:.1f}×)"
        )


def save_trimmed(element, path, margin=12):
    """Screenshot of ``element`` without the white space right of its content."""
    from PIL import Image, ImageChops

    element.screenshot(str(path))
    image = Image.open(path).convert("RGB")
    right = ImageChops.difference(image, Image.new("RGB", image.size, "white")).getbbox()[2]
    image.crop((0, 0, min(image.width, right + margin), image.height)).save(path)


def screenshots(translator, folder, out_dir):
    from headless import chromium, open_explorer
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support.ui import Select

    attention = sentence_attention(translator, ARTICLE_SENTENCE)
    Path(out_dir).mkdir(parents=True, exist_ok=True)  # Chromium writes no screenshot into a missing folder
    with tempfile.TemporaryDirectory() as tmp:
        page = write_attention_page(sentence_page(attention, describe_model(translator, folder)), Path(tmp) / PAGE_NAME)
        driver = chromium(width=1150, height=1600)
        try:
            if [e for e in open_explorer(driver, page) if e["level"] == "SEVERE"]:
                raise SystemExit(f"console errors: {driver.get_log('browser')}")
            Select(driver.find_element("id", "kind")).select_by_index(2)  # encoder-decoder attention
            Select(driver.find_element("id", "layer")).select_by_index(attention.num_layers - 1)
            view = driver.find_element("id", "head-section")
            driver.execute_script("arguments[0].scrollIntoView()", view)
            queries = driver.find_elements("css selector", "#head-view .textpoint")
            query = attention.target_pieces.index(HOVERED)
            ActionChains(driver).move_to_element(queries[query]).perform()
            time.sleep(1)  # let the hover redraw finish before the picture
            save_trimmed(view, Path(out_dir) / "explorer_head_view.png")
            model = driver.find_element("id", "model-section")
            driver.execute_script("arguments[0].scrollIntoView()", model)
            save_trimmed(model, Path(out_dir) / "explorer_model_view.png")
        finally:
            driver.quit()
    print(f"wrote {out_dir}/explorer_head_view.png and explorer_model_view.png")


def main():
    args = build_parser().parse_args()
    translator = Translator.from_checkpoint(args.checkpoint_dir)
    measure(translator, args.checkpoint_dir, args.rounds)
    measure_attention(translator, args.rounds)
    if args.screenshots:
        screenshots(translator, args.checkpoint_dir, args.screenshots)


if __name__ == "__main__":
    main()
