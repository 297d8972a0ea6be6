"""Writing a run folder all at once, and reading its fitted models back for ``predict``.

A run's ``model/`` folder holds:

    schema.json             feature columns, class labels, the best model (`pipeline.data.Schema`)
    random_forest.joblib    the whole fitted imblearn Pipeline (phases 1–3 + forest)
    mlp_preprocess.joblib   the MLP's fitted phases 1–3 (its pipeline without the model)
    mlp_savedmodel/         the Keras MLP as a TensorFlow SavedModel (``model.export``):
                            ``serve`` maps float32 ``(batch, n_columns)`` → ``(batch, 1)``

SMOTE stays inside the saved pipelines; imblearn skips samplers when transforming, so new
rows are only transformed.
"""

import json
import os
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from cli_common import files
from pipeline.data import Schema, prepare_features, read_csv
from pipeline.errors import PipelineError

RUN_MARKER = "metrics.json"  # a folder holding it (and model/) was written by dm-pipeline run


def atomic_folder(out):
    """Yield an empty temporary folder beside ``out``; on success it replaces ``out`` by a rename.

    On any error the temporary folder is removed, so a failed run leaves nothing
    half-written and an earlier run in ``out`` untouched. An existing ``out`` is replaced
    only when it is empty or an earlier dm-pipeline run (never some other folder or file).
    (:func:`cli_common.files.atomic_folder`, shared with ``transformer-tf``.)
    """
    return files.atomic_folder(out, check_replaceable)


def check_replaceable(out, inputs=()):
    """Refuse an ``out`` that ``atomic_folder`` may not replace.

    It may not exist unless it is empty or an earlier dm-pipeline run; it may not lie inside a
    run or model folder (a rerun of that one would delete it); none of the ``inputs`` (the
    ``--data`` file) may lie inside it (replacing the folder would delete them); its parent
    folder (or the nearest that exists) must take new files.

    Raises:
        PipelineError: naming ``--out`` and the fix.
    """
    out = Path(out)
    if out.exists() and not (out.is_dir() and (not any(out.iterdir()) or (out / RUN_MARKER).is_file())):
        raise PipelineError(f"--out {out} exists and is not a dm-pipeline run folder: choose another path.")
    run = enclosing_run(out)
    if run is not None:
        raise PipelineError(
            f"--out {out} lies inside the dm-pipeline run {run}, which a rerun replaces as a whole: "
            f"choose a folder outside it."
        )
    inside = [str(p) for p in inputs if p is not None and out.resolve() in Path(p).resolve().parents]
    if inside:
        raise PipelineError(
            f"--out {out} holds the input {inside[0]}, and a run replaces its --out folder as a whole: "
            f"move the input out of it, or choose another --out."
        )
    files.check_writable(out.parent, PipelineError, f"--out {out}")


def is_run_folder(path):
    """A folder written by ``dm-pipeline run``: its marker and its ``model/`` folder."""
    path = Path(path)
    return (path / RUN_MARKER).is_file() and (path / "model").is_dir()


def is_model_folder(path):
    """A run's ``model/`` folder (see the module docstring): its schema and a fitted model."""
    path = Path(path)
    return (path / "schema.json").is_file() and any(
        (path / name).exists() for name in ("random_forest.joblib", "mlp_savedmodel")
    )


def enclosing_run(path):
    """The outermost run or model folder that holds ``path`` (not ``path`` itself), or None."""
    holders = [folder for folder in Path(path).resolve().parents if is_run_folder(folder) or is_model_folder(folder)]
    return holders[-1] if holders else None


def check_predictions_out(out, data, checkpoint_dir):
    """Refuse a ``predict --out`` file that cannot be written (a folder, a missing or read-only
    parent) or that would destroy an input: the ``--data`` table itself, or any file inside a
    run or model folder (the ``--checkpoint-dir`` or another run's).

    Raises:
        PipelineError: naming the flag, what would be lost and the fix.
    """
    out, data = Path(out), Path(data)
    if out.is_dir():
        raise PipelineError(f"--out {out} is a folder: give a file path, e.g. {out / 'predictions.csv'}.")
    if not out.parent.is_dir():
        raise PipelineError(f"--out {out}: the folder {out.parent} does not exist; create it first.")
    files.check_writable(out.parent, PipelineError, f"--out {out}")
    if out.resolve() == data.resolve() or (out.exists() and data.exists() and os.path.samefile(out, data)):
        raise PipelineError(
            f"--out {out} is the --data table: the predictions would replace the rows they are made from. "
            f"Write them to another file, e.g. {out.with_name(out.stem + '.predictions.csv')}."
        )
    checkpoint = Path(checkpoint_dir).resolve()
    run = enclosing_run(out)
    if run is None and checkpoint in out.resolve().parents:
        run = checkpoint
    if run is not None:
        raise PipelineError(
            f"--out {out} lies inside the dm-pipeline run {run}, whose files predict reads or a later run "
            f"replaces: write the predictions outside it, e.g. {run.parent / 'predictions.csv'}."
        )


def save_models(result, folder):
    """Write both fitted models and the schema to ``folder`` (created)."""
    folder = Path(folder)
    folder.mkdir(parents=True)
    schema = json.loads(result.schema.to_json())
    (folder / "schema.json").write_text(json.dumps({**schema, "best_model": result.best}, indent=2) + "\n")
    joblib.dump(result.models["random_forest"].pipeline, folder / "random_forest.joblib")
    mlp_pipeline = result.models["mlp"].pipeline
    joblib.dump(mlp_pipeline[:-1], folder / "mlp_preprocess.joblib")
    export_mlp(mlp_pipeline.named_steps["model"].model_, folder / "mlp_savedmodel")


def export_mlp(keras_model, path):
    """SavedModel with an explicit float32 ``(None, n_columns)`` signature (Keras would guess; see NOTES)."""
    import tensorflow as tf

    spec = tf.TensorSpec([None, keras_model.input_shape[-1]], tf.float32, name="features")
    keras_model.export(str(path), input_signature=[spec], verbose=False)


class Predictor:
    """The fitted models of a run folder, ready for new rows.

    ``Predictor(DIR)`` accepts the run folder or its ``model/`` folder. ``predict(df, model)``
    → DataFrame with ``probability`` (P(positive class)) and ``prediction`` (class label at
    p ≥ 0.5); model: "best" (by test AUC), "random_forest" or "mlp".
    """

    def __init__(self, folder):
        folder = Path(folder)
        if (folder / "model" / "schema.json").is_file():
            folder = folder / "model"
        if not (folder / "schema.json").is_file():
            raise PipelineError(
                f"--checkpoint-dir {folder}: no dm-pipeline model here (expected schema.json); "
                "give the --out folder of a dm-pipeline run."
            )
        try:
            fields = json.loads((folder / "schema.json").read_text(encoding="utf-8"))
            self.best = fields.pop("best_model")
            self.schema = Schema.from_json(json.dumps(fields))
        except (ValueError, KeyError, TypeError, AttributeError) as err:  # invalid JSON, a field missing
            raise PipelineError(
                f"{folder / 'schema.json'} is damaged ({type(err).__name__}: {err}); "
                f"run dm-pipeline run again to rewrite the folder."
            ) from None
        self.folder = folder
        self._loaded = {}

    def _model(self, name):
        if name not in self._loaded:
            try:
                self._loaded[name] = self._load(name)
            except Exception as err:  # a missing, truncated or foreign file: joblib and TF raise many kinds
                raise PipelineError(
                    f"the {name} model in {self.folder} cannot be loaded "
                    f"({type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}); "
                    f"run dm-pipeline run again to rewrite the folder."
                ) from None
        return self._loaded[name]

    def _load(self, name):
        if name == "random_forest":
            return joblib.load(self.folder / "random_forest.joblib").predict_proba
        import tensorflow as tf

        preprocess = joblib.load(self.folder / "mlp_preprocess.joblib")
        # keep the loaded object itself: its variables die with it, even if `serve` lives on
        self.saved_mlp = tf.saved_model.load(str(self.folder / "mlp_savedmodel"))
        return lambda X: _two_columns(
            self.saved_mlp.serve(tf.constant(preprocess.transform(X), tf.float32)).numpy()[:, 0]
        )

    def predict(self, df, model="best"):
        name = self.best if model == "best" else model
        if name not in ("random_forest", "mlp"):
            raise PipelineError(f"unknown model {model!r}: choose best, random_forest or mlp.")
        p = self._model(name)(prepare_features(df, self.schema))[:, 1]
        negative, positive = self.schema.labels
        return pd.DataFrame(
            {"probability": p, "prediction": np.where(p >= 0.5, positive, negative), "model": name},
            index=df.index,
        )

    def predict_csv(self, path, model="best"):
        """Read new rows (same columns as the training table; others are ignored) and predict."""
        return self.predict(read_csv(path, self.schema.read_kw), model)


def _two_columns(p):
    p = np.asarray(p, dtype=float)
    return np.column_stack([1.0 - p, p])
