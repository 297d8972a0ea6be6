"""An interactive attention explorer: every layer, head and kind of one sentence in one
offline HTML page, drawn by Plotly (its JavaScript embedded: no CDN, no network).

The static heatmaps of :mod:`transformer_tf.plot` show one layer at a time; the page lets a
reader pick the kind of attention and the layer, and look three ways:

- **head view**: the query tokens and the key tokens in two columns, a line from each query
  to each key weighted by the attention (opacity), one colour per head (the PNGs' palettes);
  head toggles; hovering a token keeps only its lines;
- **model view**: every layer (rows) × head (columns) of the chosen kind as small heatmaps;
  hovering a cell gives "query → key" and the weight, clicking opens that layer and head in
  the head view and the heatmap;
- **heatmap**: one layer and head, with the tokens on the axes.

For a translator and a sentence::

    attention = sentence_attention(translator, "He admired her as a great director.")
    write_attention_page(sentence_page(attention, "checkpoints/en_es"), "runs/attention/attention.html")

or in Jupyter ``show_attention(translator, "He admired her as a great director.")``.

The page is data plus glue: :func:`attention_page` takes any list of :class:`AttentionKind`
(``(layers, heads, queries, keys)`` weights and the names of the token lists on their two
axes), so a model with a single cross-attention (one layer, one head, kind ``"cross"``) gets
the same page as the Transformer's three kinds. The glue (``explorer.js``, beside this file)
only turns that data into Plotly traces and wires the controls.
"""

import dataclasses
import html
import json
import os
from importlib import resources
from pathlib import Path

import numpy as np

from transformer_tf.attention_maps import KIND_TITLES, KINDS, sentence_attention
from transformer_tf.plot import HEAD_PALETTES

WEIGHT_DECIMALS = 6  # weights written to the page rounded to 1e-6 (|error| ≤ 5e-7)
PAGE_NAME = "attention.html"
TOKEN_LIST_LABELS = {  # how the page's header names the token lists of a translator
    "source": "source pieces",
    "target": "decoder input pieces (row t predicted piece t+1)",
    "translation": "translation pieces",
}


@dataclasses.dataclass
class AttentionKind:
    """One kind of attention across layers and heads, as the page shows it.

    Attributes:
        name: short name (``"encoder"``, ``"decoder_block2"``, ``"cross"``, ...).
        title: what the selector says (``"encoder-decoder attention"``).
        rows: name of the token list of the queries (a key of the page's ``tokens``).
        columns: name of the token list of the keys.
        weights: ``(layers, heads, queries, keys)`` attention weights.
        layers: the 1-based layer numbers of ``weights``' first axis (default 1..layers).
    """

    name: str
    title: str
    rows: str
    columns: str
    weights: np.ndarray
    layers: list = None

    def __post_init__(self):
        self.weights = np.asarray(self.weights)
        if self.weights.ndim != 4:
            raise ValueError(
                f"{self.name}: weights must be (layers, heads, queries, keys), got shape {self.weights.shape}"
            )
        if self.layers is None:
            self.layers = list(range(1, self.weights.shape[0] + 1))
        if len(self.layers) != self.weights.shape[0]:
            raise ValueError(f"{self.name}: {len(self.layers)} layer numbers for {self.weights.shape[0]} layers")


def explorer_kinds(attention, kinds=None, layers=None):
    """A translator's attention of one sentence as :class:`AttentionKind` s.

    Args:
        attention: a :class:`~transformer_tf.attention_maps.SentenceAttention`.
        kinds: names from :data:`transformer_tf.attention_maps.KINDS` (default: all the model has:
            the Transformer's three, the RNN's ``cross``).
        layers: 1-based layer numbers (default: all).

    Returns:
        list of :class:`AttentionKind`, weights ``(len(layers), num_heads, rows, columns)``
        stacked from ``attention.matrix(kind, layer)``.
    """
    layers = list(layers or range(1, attention.num_layers + 1))
    return [
        AttentionKind(
            kind,
            KIND_TITLES[kind],
            KINDS[kind][2],
            KINDS[kind][3],
            np.stack([attention.matrix(kind, layer) for layer in layers]),
            layers,
        )
        for kind in (kinds or attention.kinds)
    ]


def _colorscale(palette, steps=11):
    """A matplotlib/seaborn colormap as a Plotly colorscale: ``[[0.0, "#rrggbb"], ...]``."""
    import seaborn as sns
    from matplotlib.colors import to_hex

    cmap = sns.color_palette(palette, as_cmap=True)
    return [[i / (steps - 1), to_hex(cmap(i / (steps - 1)))] for i in range(steps)]


# Where in its palette a head's lines take their one colour in the head view: picked so
# that the eight heads are told apart on white (green, purple, mustard, red, blue, teal,
# orange, navy).
HEAD_LINE_POSITIONS = (0.75, 0.3, 0.8, 0.55, 0.4, 0.5, 0.1, 0.95)


def _head_color(head):
    """The colour of head ``head``'s lines: a point of its palette (same cycle as the PNGs)."""
    import seaborn as sns
    from matplotlib.colors import to_hex

    cmap = sns.color_palette(HEAD_PALETTES[head % len(HEAD_PALETTES)], as_cmap=True)
    return to_hex(cmap(HEAD_LINE_POSITIONS[head % len(HEAD_LINE_POSITIONS)]))


def page_data(kinds, tokens, sentence, translation, model="", warnings=()):
    """Everything the page draws, as JSON-ready Python values.

    Args:
        kinds: list of :class:`AttentionKind`.
        tokens: ``{name: [piece, ...]}``, the token lists the kinds' ``rows``/``columns`` name.
        sentence, translation: the texts written on the page.
        model: what the page says the model is (e.g. its folder).
        warnings: messages shown on the page (e.g. the sentence was cut).

    Returns:
        dict with ``sentence, translation, model, warnings, tokens, token_labels, kinds`` (each kind's
        ``weights`` as nested lists rounded to 6 decimals), ``head_colors`` and
        ``colorscales`` (one per head, cycling through :data:`~transformer_tf.plot.HEAD_PALETTES`).

    Raises:
        ValueError: no kinds, an unknown token list, or weights whose shape does not match
            the token lists.
    """
    if not kinds:
        raise ValueError("no attention to show: give at least one AttentionKind")
    for kind in kinds:
        for axis, side in ((2, kind.rows), (3, kind.columns)):
            if side not in tokens:
                raise ValueError(f"{kind.name}: no token list {side!r} (have {', '.join(tokens)})")
            if kind.weights.shape[axis] != len(tokens[side]):
                raise ValueError(
                    f"{kind.name}: weights {kind.weights.shape} do not match the "
                    f"{len(tokens[side])} {side} tokens on axis {axis}"
                )
    num_heads = max(kind.weights.shape[1] for kind in kinds)
    palettes = [HEAD_PALETTES[head % len(HEAD_PALETTES)] for head in range(num_heads)]
    return {
        "sentence": sentence,
        "translation": translation,
        "model": str(model),
        "warnings": list(warnings),
        "tokens": {name: [str(piece) for piece in pieces] for name, pieces in tokens.items()},
        "token_labels": {name: TOKEN_LIST_LABELS.get(name, name + " pieces") for name in tokens},
        "kinds": [
            {
                "name": kind.name,
                "title": kind.title,
                "rows": kind.rows,
                "columns": kind.columns,
                "layers": [int(layer) for layer in kind.layers],
                "weights": np.round(kind.weights.astype(np.float64), WEIGHT_DECIMALS).tolist(),
            }
            for kind in kinds
        ],
        "head_colors": [_head_color(head) for head in range(num_heads)],
        "colorscales": [_colorscale(palette) for palette in palettes],
    }


def _script_json(value):
    """JSON safe inside ``<script>``: no ``</script>``, ``<!--`` or ``&`` can close or confuse it."""
    return (
        json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )


def _asset(name):
    return resources.files("transformer_tf").joinpath(name).read_text(encoding="utf-8")


def attention_page(kinds, tokens, sentence, translation, model="", warnings=()):
    """The self-contained HTML page (a string) for :func:`page_data`'s arguments.

    Everything is inside it: Plotly's JavaScript bundle (about 4.8 MB), the data as a
    ``<script type="application/json" id="attention-data">`` block, and the glue script.
    """
    return explorer_page(page_data(kinds, tokens, sentence, translation, model, warnings))


def live_page(models, limits):
    """The page of ``transformer-tf serve``: :func:`explorer_page` without data, plus a form
    (text, model, beam width) whose answers come from the server's JSON API.

    Args:
        models: ``[{"name", "description"}, ...]``, the model picker's entries (first: default).
        limits: ``{"max_sentences", "max_chars", "max_beam", ...}``, what the form allows.
    """
    return explorer_page(None, {"models": list(models), "limits": dict(limits)})


_LIVE_FORM = """<form id="ask" autocomplete="off">
<label for="text">English text (one or more sentences; Ctrl+Enter translates)</label>
<textarea id="text" rows="3" cols="80" required></textarea>
<div class="form-row">
<label>Model <select id="model-picker"></select></label>
<label>Decoding <select id="beam"></select></label>
<button type="submit" id="submit">Translate</button>
</div>
</form>
<p id="error" class="warning" role="alert" hidden></p>
<ul id="notes" class="warning" role="status" aria-label="what the translation left out" hidden></ul>
<ol id="sentences" aria-label="each sentence and its translation (click one: its attention below)"></ol>
"""


def explorer_page(data, live=None):
    """The one page builder: the explorer of ``data`` (:func:`page_data`), or with ``data``
    None and ``live`` given (:func:`live_page`), the live page that loads its data from the
    server. The header's text is escaped here; the live page's is set as text by the script."""
    from plotly.offline import get_plotlyjs

    esc = html.escape
    data_or_empty = data or {"sentence": "", "translation": "", "model": "", "warnings": [], "tokens": {}}
    labels = (data or {}).get("token_labels", {})
    pieces = "\n".join(
        f'<p class="pieces"><b>{esc(labels.get(name, name))}</b> ({len(items)}): '
        + " ".join(f'<span class="piece">{esc(piece)}</span>' for piece in items)
        + "</p>"
        for name, items in data_or_empty["tokens"].items()
    )
    alerts = "\n".join(f'<p class="warning" role="alert">⚠ {esc(message)}</p>' for message in data_or_empty["warnings"])
    title = f"Attention: {esc(data['sentence'])}" if data else "Attention explorer: live translation"
    blocks = f'<script type="application/json" id="attention-data">{_script_json(data)}</script>' if data else ""
    if live is not None:
        blocks += f'\n<script type="application/json" id="serve-config">{_script_json(live)}</script>'
    scripts = "".join(f"<script>{_asset(name)}</script>" for name in _scripts(live))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="data:,">
<style>{_asset("explorer.css")}</style>
<script>{get_plotlyjs()}</script>
</head>
<body>
<header>
<h1>Attention explorer</h1>
{_LIVE_FORM if live is not None else ""}
<dl id="about">
<dt>Sentence</dt><dd id="sentence">{esc(data_or_empty["sentence"])}</dd>
<dt>Translation</dt><dd id="translation">{esc(data_or_empty["translation"])}</dd>
<dt>Model</dt><dd id="model">{esc(data_or_empty["model"])}</dd>
</dl>
<div id="alerts">{alerts}</div>
<div id="pieces">{pieces}</div>
</header>
<nav class="controls" id="controls">
<label>Attention <select id="kind"></select></label>
<label>Layer <select id="layer"></select></label>
</nav>
<section id="head-section">
<h2>Head view</h2>
<p class="help">Queries on the left, keys on the right; a line's opacity is the attention weight.
Hover a token to keep only its lines; tick heads on and off.</p>
<div id="head-toggles"></div>
<div id="head-view"></div>
</section>
<section id="model-section">
<h2>Model view</h2>
<p class="help">Every layer × head of the chosen kind. Hover a cell for query → key and the
weight; click a panel to open that layer and head above and below.</p>
<div id="model-view"></div>
</section>
<section id="heatmap-section">
<h2>Heatmap</h2>
<label>Head <select id="head"></select></label>
<div id="heatmap-view"></div>
</section>
{blocks}
{scripts}
</body>
</html>
"""


def _scripts(live):
    return ("explorer.js", "explorer_live.js") if live is not None else ("explorer.js",)


def sentence_data(attention, model="", kinds=None, layers=None):
    """:func:`page_data` of a :class:`~transformer_tf.attention_maps.SentenceAttention` (its
    warnings, e.g. a sentence cut to the model's length, go on the page): what
    ``attention.html`` embeds and what ``transformer-tf serve``'s ``/api/attention`` answers."""
    tokens = {
        "source": attention.source_pieces,
        "target": attention.target_pieces,
        "translation": attention.translation_pieces,
    }
    return page_data(
        explorer_kinds(attention, kinds, layers),
        tokens,
        attention.sentence,
        attention.translation,
        model,
        attention.warnings,
    )


def sentence_page(attention, model="", kinds=None, layers=None):
    """:func:`explorer_page` of :func:`sentence_data`."""
    return explorer_page(sentence_data(attention, model, kinds, layers))


def write_attention_page(page, path):
    """Write ``page`` to ``path`` atomically (a temporary file in the same folder, then
    ``os.replace``): a reader never finds a half-written page. Returns ``Path(path)``."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(page, encoding="utf-8")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def describe_model(translator, folder=None):
    """What the page says the model is: ``"checkpoints/en_es: Transformer, 4 layers × 8 heads, d_model 128"``
    (an RNN: ``"RNNTranslator, bidirectional lstm, 256 units, Bahdanau attention"``)."""
    hp = getattr(translator.model, "hparams", {})
    shape = type(translator.model).__name__
    if {"num_layers", "num_heads", "d_model"} <= hp.keys():
        shape += f", {hp['num_layers']} layers × {hp['num_heads']} heads, d_model {hp['d_model']}"
    elif {"cell", "units"} <= hp.keys():
        shape += f", bidirectional {hp['cell']}, {hp['units']} units, Bahdanau attention"
    return f"{folder}: {shape}" if folder else shape


def show_attention(translator, sentence, folder=None, height=900):
    """Display the explorer page of ``sentence`` inline in Jupyter.

    The page goes into an ``<iframe srcdoc=...>`` so that its scripts run in the notebook's
    output (about 5 MB of output, Plotly included).

    Args:
        translator: a :class:`~transformer_tf.translate.Translator`.
        sentence: English text.
        folder: the model's folder, written on the page.
        height: height of the frame in pixels (the page scrolls inside it).
    """
    from IPython.display import HTML, display

    page = sentence_page(sentence_attention(translator, sentence), describe_model(translator, folder))
    display(
        HTML(
            f'<div><iframe srcdoc="{html.escape(page, quote=True)}" title="attention explorer" '
            f'style="width: 100%; height: {int(height)}px; border: 0"></iframe></div>'
        )
    )
