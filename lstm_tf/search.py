"""The study store: random search on Optuna, shared by any number of worker processes or machines.

The variant study is one Optuna study per LSTM variant (``"{name}/{variant}"``) in one storage:
an embedded SQLite file by default, or any database URL Optuna accepts (``postgresql://…``)
so that N machines work on the same studies side by side. This module knows nothing of
TensorFlow; :mod:`lstm_tf.study` gives it the objective.

- **Random search, the same draws for every variant.** :class:`DrawSampler` is Optuna's
  ``RandomSampler`` seeded by ``(seed, draw, hyperparameter)``: draw *k* has the same
  hyperparameters in every variant's study and in every worker, so variants compare pair by
  pair and two workers never draw the same point.
- **Resume.** Finished trials live in the storage; a rerun counts them and runs only the
  missing ones. A worker killed mid-trial leaves a ``RUNNING`` trial whose heartbeat stops;
  after ``grace_period`` seconds the next worker marks it failed and retries its draw
  (Optuna's ``RetryHeartbeatStaleTrialCallback``), so no draw is lost or run twice. A trial
  stopped by Ctrl-C fails at once and is retried when a worker next starts.
- **Settings.** The search space and training settings are saved in each study's user
  attributes; opening a study under the same name with other settings is refused.
- **Importance.** :func:`fanova_importance` is fANOVA (Hutter et al. 2014), as the paper used:
  the share of the variance of the objective explained by each hyperparameter and by each pair.
"""

import contextlib
import itertools
import json
import logging
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import optuna
import pandas as pd

from lstm_tf.errors import LSTMTFError

COUNTED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING)


class DrawSampler(optuna.samplers.RandomSampler):
    """Random search whose draw *k* is a pure function of ``(seed, k, hyperparameter name)``.

    Optuna's ``RandomSampler(seed)`` keeps one random stream per process: two workers with the
    same seed would try the same points, and a variant's k-th trial would differ from another
    variant's. Seeding every value by the trial number fixes both.
    """

    def __init__(self, seed=0):
        super().__init__(seed=seed)
        self.seed = seed

    def sample_independent(self, study, trial, param_name, param_distribution):
        draw = fresh_draw(study.get_trials(deepcopy=False), trial.number)
        key = np.random.SeedSequence([self.seed, draw, zlib.crc32(param_name.encode())])
        one_draw = optuna.samplers.RandomSampler(seed=int(key.generate_state(1)[0]))
        return one_draw.sample_independent(study, trial, param_name, param_distribution)


def open_storage(url, heartbeat_interval=10, grace_period=60):
    """An Optuna ``RDBStorage`` for ``url``, with heartbeats so a killed worker's trial is retried.

    SQLite waits up to 60 s for a lock instead of failing at once (two processes on one machine).
    A database holding tables other than Optuna's is refused before anything is written to it
    (:func:`check_no_foreign_tables`). The schema is created under :func:`store_lock`, so two
    workers started together on one new SQLite file do not both create it; on a database
    server, where no file lock reaches, a worker that loses that race tries again.

    Raises:
        LSTMTFError: the URL cannot be opened (bad form, missing folder, server down, no driver),
            or the database belongs to something else.
    """
    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    for attempt in range(SCHEMA_ATTEMPTS):
        try:
            check_no_foreign_tables(url, engine_kwargs)
            with store_lock(url), warnings.catch_warnings():  # heartbeats and retries: "experimental"
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=3)
                return optuna.storages.RDBStorage(
                    url,
                    engine_kwargs=engine_kwargs,
                    heartbeat_interval=heartbeat_interval,
                    grace_period=grace_period,
                    heartbeat_stale_trial_callback=retry,
                )
        except LSTMTFError:
            raise
        except Exception as err:  # noqa: BLE001 — sqlalchemy's ArgumentError, OperationalError, a missing driver, …
            if "already exists" in str(err) and attempt + 1 < SCHEMA_ATTEMPTS:
                time.sleep(0.2 * (attempt + 1))  # another worker created the schema meanwhile: it is there now
                continue
            raise LSTMTFError(
                f"cannot open the study storage {url!r} ({err.__class__.__name__}: "
                f"{_first_line(err)}). Give a URL Optuna accepts, e.g. "
                f"sqlite:///runs/lstm_study/study.db (its folder must exist) or "
                f"postgresql://user:password@host/database (with psycopg2 installed)."
            ) from None


SCHEMA_ATTEMPTS = 3  # tries at creating the store's tables, where another worker may be creating them too
LOCK_TIMEOUT = 120  # seconds a worker waits for another to finish creating the store or its studies


def _first_line(err):
    return str(err).strip().splitlines()[0] if str(err).strip() else ""


def optuna_tables():
    """The names of the tables an Optuna study store holds (its schema, and alembic's version table)."""
    from optuna.storages._rdb.models import BaseModel

    return set(BaseModel.metadata.tables) | {"alembic_version"}


def check_no_foreign_tables(url, engine_kwargs=None):
    """Refuse a database that holds tables other than an Optuna study store's; only reads.

    A new or empty database, or an earlier study store, passes. An SQLite URL whose file does
    not exist yet is not created here.

    Raises:
        LSTMTFError: naming the foreign tables (``parameter="storage"``).
    """
    import sqlalchemy

    path = sqlite_file(url)
    if path is not None and not path.exists():
        return  # a new file: nothing in it to protect (its folder is checked when it is created)
    engine = sqlalchemy.create_engine(url, **(engine_kwargs or {}))
    try:
        foreign = sorted(set(sqlalchemy.inspect(engine).get_table_names()) - optuna_tables())
    finally:
        engine.dispose()
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise LSTMTFError(
            f"storage {url}: this database holds tables of something else ({shown}); the study store "
            f"adds its own tables, so it is left untouched. Give a new file, e.g. "
            f"sqlite:///runs/lstm_study/study.db, or an empty database.",
            parameter="storage",
        )


def sqlite_file(url):
    """The file of an SQLite URL (``sqlite:///runs/s/study.db`` → ``runs/s/study.db``); None for
    other databases and in-memory SQLite."""
    import sqlalchemy

    try:
        parsed = sqlalchemy.engine.make_url(url)
    except sqlalchemy.exc.ArgumentError:
        return None
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    if parsed.query.get("uri") == "true":  # sqlite:///file:PATH?mode=ro&uri=true
        database = database.removeprefix("file:")
    return Path(database)


@contextlib.contextmanager
def store_lock(url):
    """Hold ``FILE.lock`` beside an SQLite store while creating its tables or its studies.

    The operating system releases the lock when its holder dies, so a killed worker never
    leaves it held. Other databases, and a folder where no lock file can be made (a read-only
    mount, where no worker can write the store either), go without.

    Raises:
        LSTMTFError: another worker held the lock for :data:`LOCK_TIMEOUT` seconds.
    """
    import filelock

    path = sqlite_file(url)
    # a missing folder gets no lock (filelock would create it): SQLite then says it cannot open the file
    lock = None if path is None or not path.parent.is_dir() else filelock.FileLock(f"{path}.lock", timeout=LOCK_TIMEOUT)
    try:
        if lock is not None:
            lock.acquire()
    except filelock.Timeout:
        raise LSTMTFError(
            f"storage {url}: another worker has held {lock.lock_file} for {LOCK_TIMEOUT} s while opening "
            f"the store; try again when it has started.",
            parameter="storage",
        ) from None
    except OSError:
        lock = None  # read-only folder: the store cannot change under us
    try:
        yield
    finally:
        if lock is not None:
            lock.release()


@contextlib.contextmanager
def storage_errors(url):
    """Turn Optuna's ``StorageInternalError`` (a read-only or full database) into an ``LSTMTFError``."""
    try:
        yield
    except optuna.exceptions.StorageInternalError as err:
        cause = _first_line(err.__cause__ or err)
        raise LSTMTFError(
            f"storage {url}: the study store cannot be written ({cause}). Is its file or folder "
            f"read-only, or the disk full? Copy it somewhere writable, or use --report-only to "
            f"report its finished trials without training.",
            parameter="storage",
        ) from None


def open_studies(storage, name, variants, settings, seed):
    """One study per variant, ``"{name}/{variant}"``, created if missing, checked if present.

    Every existing study is checked before anything is created, so a refused call changes nothing.
    The check and the creation hold the store's lock (:func:`store_lock`): of two workers started
    together with other settings, one creates the studies and the other is refused.

    Raises:
        LSTMTFError: a study of that name exists with other ``settings``; the store cannot be written.
    """
    url = getattr(storage, "url", "")
    with store_lock(url), storage_errors(url):
        return _open_studies(storage, name, variants, settings, seed)


def _open_studies(storage, name, variants, settings, seed):
    saved = json.loads(json.dumps(settings))  # tuples → lists, as stored
    existing = {s.study_name: s for s in storage.get_all_studies()}
    for variant in variants:
        summary = existing.get(f"{name}/{variant}")
        if summary is None:
            continue
        previous = summary.user_attrs.get("settings", {})
        changed = sorted(k for k in set(saved) | set(previous) if previous.get(k) != saved.get(k))
        if changed:
            raise LSTMTFError(
                f"study {name}/{variant} in this storage was run with other settings "
                f"({', '.join(f'{k}: {previous.get(k)} here {saved.get(k)}' for k in changed)}); "
                f"use another --study-name, or the same settings to add trials to it."
            )
    studies = {}
    for variant in variants:
        study = optuna.create_study(
            storage=storage,
            study_name=f"{name}/{variant}",
            direction="minimize",
            sampler=DrawSampler(seed),
            load_if_exists=True,
        )
        if "settings" not in study.user_attrs:
            study.set_user_attr("settings", saved)
        studies[variant] = study
    return studies


def counts(study):
    """``(complete, counted)``: finished trials, and finished + running + waiting ones."""
    states = [t.state for t in study.get_trials(deepcopy=False)]
    return (sum(s == optuna.trial.TrialState.COMPLETE for s in states), sum(s in COUNTED for s in states))


def fresh_draw(trials, number):
    """The draw of new trial ``number``: its number less the retries before it (a retry re-runs an old draw)."""
    return number - sum(1 for t in trials if t.number < number and "failed_trial" in t.system_attrs)


def draw_of(trial, trials):
    """The draw a (frozen) trial of a study with ``trials`` evaluates: a retry's is that of the killed trial."""
    if "draw" in trial.user_attrs:
        return trial.user_attrs["draw"]
    if "failed_trial" in trial.system_attrs:
        return draw_of(next(t for t in trials if t.number == trial.system_attrs["failed_trial"]), trials)
    return fresh_draw(trials, trial.number)


def retry_interrupted(study, max_retry=3):
    """Queue again the draws of trials that failed by an exception (Ctrl-C), as heartbeats do for killed ones.

    Called when a worker starts; the retry keeps the draw and its hyperparameters.
    """
    trials = study.get_trials(deepcopy=False)
    retried = {n for t in trials for n in t.system_attrs.get("retry_history", [])}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=max_retry)
        for t in trials:
            if t.state == optuna.trial.TrialState.FAIL and t.number not in retried:
                retry(study, t)


def run_worker(studies, objective, trials, poll=5.0, progress=print):
    """Run trials until every study has ``trials`` finished ones (this worker and all others together).

    The least advanced variant goes next, so a study stopped early is balanced across
    variants. ``objective(variant, trial, draw)`` returns the value to minimise. A trial that
    starts when its study already has enough finished or running trials (another worker got
    there first) is pruned at once, so the total is exact. When only other workers' trials are
    left, this one waits for them (and retries any whose worker died).

    Returns:
        the number of trials whose objective this worker ran (a trial pruned at once is not
        one), so the counts of all workers add up to the trials of the studies.
    """
    ran = 0
    quiet = _QuietInterruptedTrial()

    def wrapped(variant):
        def run(trial):
            nonlocal ran
            trials_now = trial.study.get_trials(deepcopy=False)
            draw = draw_of(next(t for t in trials_now if t.number == trial.number), trials_now)
            trial.set_user_attr("draw", draw)
            before = [t for t in trials_now if t.state in COUNTED and t.number < trial.number]
            if len(before) >= trials:
                raise optuna.TrialPruned("enough trials")
            ran += 1
            try:
                return objective(variant, trial, draw)
            except KeyboardInterrupt:
                quiet.interrupted = True
                raise

        return run

    for study in studies.values():
        retry_interrupted(study)
    while True:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            for study in studies.values():
                optuna.storages.fail_stale_trials(study)  # a dead worker's trial becomes WAITING again
        state = {variant: counts(study) for variant, study in studies.items()}
        if all(complete >= trials for complete, _ in state.values()):
            return ran
        open_ = [
            v
            for v, (_, counted) in state.items()
            if counted < trials
            or any(t.state == optuna.trial.TrialState.WAITING for t in studies[v].get_trials(deepcopy=False))
        ]
        if not open_:
            time.sleep(poll)  # the last trials are running elsewhere
            continue
        variant = min(open_, key=lambda v: state[v][1])
        with quiet:
            studies[variant].optimize(wrapped(variant), n_trials=1)


class _QuietInterruptedTrial(logging.Filter):
    """While in use, Optuna logs nothing more once a trial is stopped by Ctrl-C: no "Trial N
    failed" warning with the ``KeyboardInterrupt``'s traceback (the command says "interrupted").
    The trial still fails, so a later run retries its draw."""

    interrupted = False
    _logger = logging.getLogger("optuna.study._optimize")  # where Optuna logs a failed trial

    def filter(self, record):
        return not self.interrupted

    def __enter__(self):
        self._logger.addFilter(self)

    def __exit__(self, *error):
        self._logger.removeFilter(self)


def trials_frame(studies):
    """Every finished trial as a row: ``variant``, ``trial`` (the draw), the hyperparameters, the user attributes."""
    rows = []
    for variant, study in studies.items():
        trials = study.get_trials(deepcopy=False)
        for t in (t for t in trials if t.state == optuna.trial.TrialState.COMPLETE):
            rows.append(
                {
                    "variant": variant,
                    "trial": draw_of(t, trials),
                    **t.params,
                    **{k: v for k, v in t.user_attrs.items() if k != "draw"},
                    "value": t.value,
                }
            )
    return pd.DataFrame(rows)


def fanova_importance(frame, distributions, target="value", n_trees=32, seed=0):
    """fANOVA: the share of the variance of ``target`` explained by each hyperparameter and each pair.

    A random forest is fitted to ``target`` against the hyperparameters (log-scaled where the
    search was log-uniform, as the paper's analysis), and its prediction is decomposed into
    main effects and interactions over the search space (Hutter, Hoos & Leyton-Brown 2014).
    Optuna's ``FanovaImportanceEvaluator`` gives only main effects, on the unlogged scale;
    this uses its forest (``optuna.importance._fanova``) for both, and any subset.

    Parameters:
        frame: one row per trial, a column per hyperparameter and ``target``.
        distributions: ``{name: optuna distribution}`` of the hyperparameters to analyse.

    Returns:
        ``(importance, marginal)``: a Series ``{name or "a × b": share of variance}`` (main
        effects, then pairwise interactions, each the mean over the trees), and the fitted
        forest's partial dependence function ``marginal(name, grid) → (mean, std over trees)``.
    """
    from optuna.importance._fanova._fanova import _Fanova

    names = [n for n in distributions if not distributions[n].single()]  # a fixed value explains nothing
    logged = [getattr(distributions[n], "log", False) for n in names]
    X = np.column_stack(
        [np.log(frame[n].to_numpy(float)) if lg else frame[n].to_numpy(float) for n, lg in zip(names, logged)]
    )
    bounds = np.array(
        [
            [np.log(distributions[n].low), np.log(distributions[n].high)]
            if lg
            else [distributions[n].low, distributions[n].high]
            for n, lg in zip(names, logged)
        ],
        float,
    )
    fanova = _Fanova(n_trees=n_trees, max_depth=64, min_samples_split=2, min_samples_leaf=1, seed=seed)
    fanova.fit(X, frame[target].to_numpy(float), bounds, [np.array([i]) for i in range(len(names))])
    trees = [t for t in fanova._trees if t.variance > 0]
    share = {}
    for i, name in enumerate(names):
        share[name] = np.mean([max(t.get_marginal_variance(np.array([i])), 0) / t.variance for t in trees])
    for (i, a), (j, b) in itertools.combinations(enumerate(names), 2):
        share[f"{a} × {b}"] = np.mean(
            [
                max(
                    t.get_marginal_variance(np.array([i, j]))
                    - t.get_marginal_variance(np.array([i]))
                    - t.get_marginal_variance(np.array([j])),
                    0,
                )
                / t.variance
                for t in trees
            ]
        )

    def marginal(name, grid):
        """Prediction averaged over the observed trials with ``name`` set to each of ``grid``; mean, std over trees."""
        k = names.index(name)
        per_tree = np.empty((len(fanova._forest.estimators_), len(grid)))
        for g, value in enumerate(grid):
            Xg = X.copy()
            Xg[:, k] = np.log(value) if logged[k] else value
            per_tree[:, g] = [tree.predict(Xg).mean() for tree in fanova._forest.estimators_]
        return per_tree.mean(0), per_tree.std(0)

    return pd.Series(share), marginal
