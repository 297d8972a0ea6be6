"""Phase 5: the two base models and their small hyperparameter searches.

* Random forest: scikit-learn's CART trees split by Gini impurity (`pipeline.gini`),
  ``criterion="gini"``, searched over ``n_estimators × max_depth``.
* Keras MLP: ``Dense(units, relu)`` hidden layers → ``Dense(1, sigmoid)``, binary
  cross-entropy, Adam; built functionally by `build_mlp` and wrapped as a scikit-learn
  classifier (`KerasMLPClassifier`) so it can be the last step of the same imblearn
  pipeline as the forest. Early stopping watches a validation share of the rows it is
  fitted on, as scikit-learn's own ``MLPClassifier(early_stopping=True)`` does.

Both searches are judged by ROC AUC on the validation rows of phase 4 (`search`).
"""

import itertools
import numbers
import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

# name → {parameter: values}; the search tries every combination.
RF_GRID = {"n_estimators": (100, 300), "max_depth": (4, 8, None)}
RF_GRID_QUICK = {"n_estimators": (50,), "max_depth": (4, None)}
MLP_GRID = {"hidden_units": ((16,), (32, 16), (64, 32))}
MLP_GRID_QUICK = {"hidden_units": ((8,), (16, 8))}
MLP_EPOCHS, MLP_EPOCHS_QUICK = 60, 15
# batch_size="auto": batches of at least MLP_MIN_BATCH rows, and at most MLP_STEPS_PER_EPOCH of
# them an epoch. On a table the size of Adult (23,600 rows after SMOTE and the early-stopping
# hold-out) 369 batches of 64 an epoch cost the run more time than anything else, for the same
# validation AUC; small tables (Titanic) keep batches of 64.
MLP_MIN_BATCH, MLP_STEPS_PER_EPOCH = 64, 100


def auto_batch_size(n_rows, min_batch=MLP_MIN_BATCH, steps_per_epoch=MLP_STEPS_PER_EPOCH):
    """Rows a batch for ``batch_size="auto"``: ``max(min_batch, ⌈n_rows / steps_per_epoch⌉)``."""
    return max(min_batch, -(-n_rows // steps_per_epoch))


def grid(params):
    """Every combination of a ``{name: values}`` grid, as a list of dicts (in order)."""
    names = list(params)
    return [dict(zip(names, values)) for values in itertools.product(*params.values())]


def random_forest(seed=0, **params):
    """CART random forest with Gini splits; single-threaded (the machine is shared, and it is fast)."""
    return RandomForestClassifier(criterion="gini", random_state=seed, n_jobs=1, **params)


def build_mlp(n_features, hidden_units=(32, 16), learning_rate=1e-3):
    """The article's MLP: ReLU hidden layers, one sigmoid output, binary cross-entropy, Adam.

    Input ``(batch, n_features)`` float32 → output ``(batch, 1)``: P(positive class).
    """
    import keras

    inputs = keras.Input(shape=(n_features,), name="features")
    x = inputs
    for i, units in enumerate(hidden_units, start=1):
        x = keras.layers.Dense(units, activation="relu", name=f"hidden{i}")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="p_positive")(x)
    model = keras.Model(inputs, outputs, name="mlp")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="binary_crossentropy",
        metrics=[keras.metrics.AUC(name="auc")],
    )
    return model


def _whole(value):
    """Whether ``value`` is a whole number (Python's or NumPy's int; not a bool, not a float)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class KerasMLPClassifier(ClassifierMixin, BaseEstimator):
    """scikit-learn face of `build_mlp`, for the last step of an imblearn Pipeline.

    fit(X ``(n, d)``, y ``(n,)`` of two class labels of any type; ``classes_`` sorts them and
    the second is the positive one, as in scikit-learn's classifiers): holds out
    ``validation_fraction`` of the rows (stratified, shuffled — SMOTE appends its synthetic rows
    at the end, so Keras' own ``validation_split``, which takes the last rows, would validate on
    synthetic ones only), trains with early stopping on validation loss and keeps the best epoch's weights.
    ``batch_size="auto"`` (the default) picks :func:`auto_batch_size` of the training rows:
    64 on small tables, at most 100 batches an epoch on large ones.
    ``predict_proba`` → ``(n, 2)``, columns in the order of ``classes_``; ``predict`` → ``(n,)``
    labels of ``classes_``. ``model_`` is the fitted Keras model; ``epochs_run_`` how
    many epochs ran, ``batch_size_`` the batch size used. Seeded by ``seed``: the same seed
    gives the same weights.
    """

    def __init__(
        self,
        hidden_units=(32, 16),
        learning_rate=3e-3,
        epochs=MLP_EPOCHS,
        batch_size="auto",
        patience=8,
        validation_fraction=0.15,
        seed=0,
    ):
        self.hidden_units = hidden_units
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.seed = seed

    def _hidden_and_epochs(self):
        """``(hidden_units as a tuple, epochs)`` checked: a ValueError naming the parameter and the fix
        (``epochs=0`` ended in Keras' history without a "loss", ``hidden_units=4`` in a TypeError)."""
        units = (self.hidden_units,) if isinstance(self.hidden_units, numbers.Integral) else self.hidden_units
        try:
            units = tuple(units)
        except TypeError:  # not a sequence (a float, None)
            units = ()
        if not units or not all(_whole(u) and u >= 1 for u in units):
            raise ValueError(
                f"hidden_units={self.hidden_units!r}: give the widths of the hidden layers, whole numbers ≥ 1, "
                "e.g. (32, 16)."
            )
        if not _whole(self.epochs) or self.epochs < 1:
            raise ValueError(f"epochs={self.epochs!r}: give a whole number ≥ 1 (early stopping ends it sooner).")
        return tuple(int(u) for u in units), int(self.epochs)

    def fit(self, X, y):
        import keras

        hidden_units, epochs = self._hidden_and_epochs()
        X, y = validate_data(self, X, y, dtype=np.float32)
        check_classification_targets(y)  # a continuous y is refused, naming its type
        self.classes_, y = np.unique(y, return_inverse=True)  # the sigmoid output is P(classes_[1])
        if len(self.classes_) != 2:
            raise ValueError(
                f"KerasMLPClassifier has one sigmoid output, for two classes; y has {len(self.classes_)} "
                f"({', '.join(map(repr, self.classes_[:5].tolist()))}{', ...' if len(self.classes_) > 5 else ''})."
            )
        X_train, X_stop, y_train, y_stop = train_test_split(
            X, y, test_size=self.validation_fraction, stratify=y, random_state=self.seed
        )
        self.batch_size_ = auto_batch_size(len(y_train)) if self.batch_size == "auto" else int(self.batch_size)
        keras.utils.set_random_seed(self.seed)  # initial weights and batch order
        self.model_ = build_mlp(X.shape[1], hidden_units, self.learning_rate)
        # min_delta: a loss that creeps down by less is not worth more epochs on a 2-core machine
        stop = keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=self.patience, min_delta=1e-4, restore_best_weights=True
        )
        history = self.model_.fit(
            X_train,
            y_train.astype(np.float32),
            validation_data=(X_stop, y_stop.astype(np.float32)),
            epochs=epochs,
            batch_size=self.batch_size_,
            callbacks=[stop],
            verbose=0,
        )
        self.epochs_run_ = len(history.history["loss"])
        return self

    def predict_proba(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float32, reset=False)
        p = np.asarray(self.model_(X, training=False), dtype=float)[:, 0]
        return np.column_stack([1.0 - p, p])

    def predict(self, X):
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]


def search(pipeline, candidates, X_fit, y_fit, X_val, y_val, log=print, name="model"):
    """Fit one clone of ``pipeline`` per candidate on the fit rows; keep the best validation AUC.

    pipeline: an imblearn Pipeline whose last step is named "model"; candidates: list of
    dicts of that model's parameters. The validation rows are only transformed (never
    resampled). Returns ``(best fitted pipeline, table)`` with one row per candidate:
    ``{"params", "validation_auc", "seconds"}``; the first of equal AUCs wins.
    """
    best, best_auc, table = None, -np.inf, []
    for params in candidates:
        start = time.perf_counter()
        fitted = clone(pipeline).set_params(**{f"model__{k}": v for k, v in params.items()}).fit(X_fit, y_fit)
        auc = float(roc_auc_score(y_val, fitted.predict_proba(X_val)[:, 1]))
        row = {
            "params": {k: _plain(v) for k, v in params.items()},
            "validation_auc": auc,
            "seconds": round(time.perf_counter() - start, 2),
        }
        epochs = getattr(fitted.named_steps["model"], "epochs_run_", None)
        if epochs is not None:
            row["epochs_run"] = epochs
        table.append(row)
        log(
            f"  {name} {_describe(row['params'])}: validation AUC {auc:.4f}"
            + (f" ({epochs} epochs)" if epochs is not None else "")
            + f", {row['seconds']:.1f} s"
        )
        if auc > best_auc:
            best, best_auc = fitted, auc
    return best, table


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def _describe(params):
    return ", ".join(f"{k}={v}" for k, v in params.items())
