"""JSB Chorales, the polyphonic-music benchmark of "LSTM: A Search Space Odyssey".

382 four-part Bach chorales in the train/valid/test split of Boulanger-Lewandowski et al.
(2012): 229 / 76 / 77 sequences, one time step per quarter note, each step the set of MIDI
pitches sounding. As in those papers a step becomes an 88-unit binary piano roll, one unit
per piano key (MIDI 21 = A0 … 108 = C8).

Where the file comes from, first match wins:

1. ``path``: the ``jsb-chorales-quarter.json`` file, or a folder holding it;
2. the Keras cache (``~/.keras/datasets/jsb-chorales-quarter.json``);
3. a download from the czhuang/JSB-Chorales-dataset repository (pinned commit, checked by
   SHA-256) into that cache, with ``pooch``: one try, failing within ``timeout`` seconds
   when offline.
"""

import json
from pathlib import Path

import numpy as np

from cli_common import files
from lstm_tf.errors import LSTMTFError

FILENAME = "jsb-chorales-quarter.json"
JSB_URL = (
    "https://raw.githubusercontent.com/czhuang/JSB-Chorales-dataset/"
    "9a7f733ddb4ed91f48da64ac7f0f621c34aadd4d/jsb-chorales-quarter.json"
)
JSB_SHA256 = "2db9329f1881a1d3f49703ec556bf1d6f84b4f6c1d702c156536e93cf31e1c91"
LOWEST_KEY, PIANO_KEYS = 21, 88  # MIDI pitch of A0; keys up to MIDI 108 (C8)
SPLITS = ("train", "valid", "test")


def resolve_jsb_chorales(path=None, cache_dir=None, url=JSB_URL, timeout=5.0):
    """The path of ``jsb-chorales-quarter.json``: given, cached, or downloaded (see module doc).

    Args:
        path: the file, or a folder holding it; if given it must exist.
        cache_dir: Keras cache root (default ``~/.keras``, or ``$KERAS_HOME``).
        url: where to download the file from (http or https).
        timeout: seconds to wait for the server (to connect, and then for each read).

    Raises:
        LSTMTFError: the given path has no such file, or the download is impossible.
    """
    if path is not None:
        path = Path(path).expanduser()
        if path.is_dir():
            path = path / FILENAME
        if not path.is_file():
            raise LSTMTFError(f"--data {path}: no such file; give {FILENAME} or the folder that holds it.")
        return path

    datasets = files.keras_datasets_dir(cache_dir)
    if (datasets / FILENAME).is_file():
        return datasets / FILENAME
    import pooch  # only a download needs it (and what it imports)

    try:
        return Path(
            pooch.retrieve(
                url,
                known_hash=f"sha256:{JSB_SHA256}",
                fname=FILENAME,
                path=datasets,
                downloader=pooch.HTTPDownloader(timeout=timeout),
            )
        )
    except (OSError, ValueError) as err:  # requests' errors are OSErrors; a wrong hash is a ValueError
        raise LSTMTFError(
            f"cannot download JSB Chorales from {url} ({type(err).__name__}: {err}). If you are offline, pass "
            f"the file or its folder with --data PATH (on the project machines: ../shared/data/jsb-chorales)."
        ) from None


def piano_roll(chorale):
    """One chorale (a list of steps, each a list of MIDI pitches) → ``(time, 88)`` float32 0/1."""
    roll = np.zeros((len(chorale), PIANO_KEYS), dtype=np.float32)
    for t, pitches in enumerate(chorale):
        if not all(_whole_number(p) for p in pitches):  # 60.5, inf, NaN or "60": no key of the piano
            raise LSTMTFError(f"step {t} has a pitch that is not a whole MIDI number: {list(pitches)}.")
        keys = np.asarray(pitches, dtype=int) - LOWEST_KEY
        if keys.size and (keys.min() < 0 or keys.max() >= PIANO_KEYS):
            raise LSTMTFError(f"step {t} has a pitch outside the piano range MIDI 21–108: {sorted(pitches)}.")
        roll[t, keys] = 1.0
    return roll


def _whole_number(value):
    return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, float) and value.is_integer())


def load_jsb_chorales(path=None, **resolve_kwargs):
    """The three splits as piano rolls.

    Returns:
        ``{"train": [...], "valid": [...], "test": [...]}``, each a list of float32 arrays
        ``(time, 88)`` (time varies: 25–160 quarter notes).

    Raises:
        LSTMTFError: no file (see :func:`resolve_jsb_chorales`) or not the expected JSON layout.
    """
    file = resolve_jsb_chorales(path, **resolve_kwargs)
    try:
        data = json.loads(Path(file).read_text(encoding="utf-8"))
        return {split: [_roll(file, split, k, chorale) for k, chorale in enumerate(data[split])] for split in SPLITS}
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise LSTMTFError(
            f"{file} is not the JSB Chorales JSON (a dict of train/valid/test lists of "
            f"steps of MIDI pitches): {err.__class__.__name__}: {err}"
        ) from None


def _roll(file, split, index, chorale):
    """:func:`piano_roll`, its error naming where in ``file`` the chorale is (there are 382)."""
    try:
        return piano_roll(chorale)
    except LSTMTFError as err:
        raise LSTMTFError(f"{file}: {split} chorale {index}: {err} Correct or remove that chorale.") from None


def plot_piano_roll(roll, ax=None, title=None):
    """Draw a ``(time, 88)`` piano roll: time across, keys up (MIDI pitch on the y axis)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3))
    ax.imshow(
        np.asarray(roll).T,
        origin="lower",
        aspect="auto",
        cmap="Greys",
        interpolation="nearest",
        extent=(-0.5, len(roll) - 0.5, LOWEST_KEY - 0.5, LOWEST_KEY + PIANO_KEYS - 0.5),
    )
    ax.set_xlabel("time step (quarter notes)")
    ax.set_ylabel("MIDI pitch")
    if title:
        ax.set_title(title)
    return ax
