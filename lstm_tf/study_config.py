"""The settings of the variant study: ``StudyConfig``, its two protocols and their search spaces.

Two protocols (:data:`PROTOCOLS`):

- ``paper`` — the paper's JSB Chorales setup: hidden units log-uniform in [20, 200] (capped
  here by ``units_range``), learning rate log-uniform in [1e-6, 1e-2], momentum
  ``1 − log-uniform[0.01, 1]``, Gaussian input noise with std uniform in [0, 1], SGD with
  Nesterov momentum on the per-sequence NLL (summed over time, averaged over the batch),
  early stopping on validation (``max_epochs`` capped).
- ``fast`` — Adam (gradients clipped to global norm 1) on the per-step NLL, learning rate
  log-uniform in [1e-3, 3e-2], hidden units log-uniform in [32, 128], no noise: reaches a
  good model in far fewer epochs on a CPU.

No TensorFlow here, and Optuna only where a search space is made: ``lstm-tf --help`` and a report
of stored trials read it without starting TensorFlow, and ``--help`` without Optuna's 0.2 s of imports
(it loads NumPy and tqdm). :mod:`lstm_tf.study` trains with it.
"""

import dataclasses

from cli_common import seed_problem
from lstm_tf.errors import LSTMTFError
from lstm_tf.variants import VARIANTS

#: The study store's file in ``--out`` (SQLite; with ``-journal`` beside it while it is written)
STORE_FILE = "study.db"
#: What a study writes in ``--out``: the store and the report (:func:`lstm_tf.report.write_report`)
STUDY_FILES = (STORE_FILE, "results.csv", "summary.md", "boxplot.png", "importance.png", "learning_rate.png")


@dataclasses.dataclass
class StudyConfig:
    """Settings of one study; saved in the study store so that more trials are added only to a same-settings study.

    ``trials`` is the number of finished trials wanted per variant (all workers together).
    """

    protocol: str = "fast"
    variants: tuple = VARIANTS
    trials: int = 5
    max_epochs: int = 60
    patience: int = 6
    batch_size: int = 16
    seed: int = 0
    learning_rate_range: tuple = (1e-3, 3e-2)
    units_range: tuple = (32, 128)
    momentum_range: tuple = ()  # of 1 − momentum, log-uniform; () = Adam, no momentum
    noise_range: tuple = ()  # std of the Gaussian input noise, uniform; () = none
    bucket: int = 32  # pad lengths to a multiple: few shapes, few XLA compilations
    max_sequences: int = 0  # 0 = all; a small number for a quick smoke run

    def __post_init__(self):
        """Refuse settings no study can use, before a file is written.

        Raises:
            LSTMTFError: naming the parameter (``seed``, ``trials``, ``units_range``, ...) and the fix.
        """
        problem = seed_problem(self.seed)
        if problem:
            raise LSTMTFError(problem + ".", parameter="seed")
        for name in ("trials", "max_epochs", "patience", "batch_size"):
            if getattr(self, name) < 1:
                raise LSTMTFError(f"{name} must be at least 1, got {getattr(self, name)}.", parameter=name)
        low, high = self.units_range
        if high < low:
            raise LSTMTFError(
                f"units_range ({low}, {high}): the hidden-size cap {high} is below the smallest size {low} "
                f"of the {self.protocol} protocol; raise the cap.",
                parameter="units_range",
            )

    @classmethod
    def for_protocol(cls, protocol="fast", quick=False, **overrides):
        """The settings of ``protocol`` (:data:`PROTOCOLS`), optionally the seconds-long smoke version.

        Raises:
            LSTMTFError: unknown protocol, or a value :meth:`__post_init__` refuses.
        """
        if protocol not in PROTOCOLS:
            raise LSTMTFError(
                f"protocol {protocol!r}: unknown; choose one of {', '.join(PROTOCOLS)}.", parameter="protocol"
            )
        settings = {"protocol": protocol, **PROTOCOLS[protocol]}
        if quick:  # three variants, one small trial, two epochs, 24 sequences, one shape
            settings.update(
                variants=("vanilla", "NFG", "CIFG"),
                trials=1,
                max_epochs=2,
                patience=1,
                units_range=(8, 16),
                max_sequences=24,
                bucket=160,
            )
        return cls(**{**settings, **overrides})

    @classmethod
    def quick(cls, **overrides):
        """The smoke run of the ``fast`` protocol (notebook 03 and the tests use it)."""
        return cls.for_protocol("fast", quick=True, **overrides)

    def settings(self):
        """What must match for two runs to add to the same study: everything but ``trials`` and ``variants``."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in ("trials", "variants")}


# Caps of the paper protocol (units ≤ 64 of the paper's 200, ≤ 12 epochs): chosen from the
# trial times measured on one CPU thread, so that 9 variants × 30 trials fit in about an hour
# (README, "The variant study on JSB Chorales").
PROTOCOLS = {
    "fast": {"learning_rate_range": (1e-3, 3e-2), "units_range": (32, 128), "max_epochs": 60, "patience": 6},
    "paper": {
        "learning_rate_range": (1e-6, 1e-2),
        "units_range": (20, 64),
        "momentum_range": (0.01, 1.0),
        "noise_range": (0.0, 1.0),
        "max_epochs": 12,
        "patience": 4,
    },
}


def search_space(config):
    """``{hyperparameter: optuna distribution}`` of ``config``'s protocol."""
    import optuna

    space = {
        "learning_rate": optuna.distributions.FloatDistribution(*config.learning_rate_range, log=True),
        "units": optuna.distributions.IntDistribution(*config.units_range, log=True),
    }
    if config.momentum_range:
        space["one_minus_momentum"] = optuna.distributions.FloatDistribution(*config.momentum_range, log=True)
    if config.noise_range:
        space["input_noise"] = optuna.distributions.FloatDistribution(*config.noise_range)
    return space


def suggest(trial, space):
    """Ask the Optuna trial for every hyperparameter of ``space``; returns ``{name: value}``."""
    import optuna

    return {
        name: (
            trial.suggest_int(name, dist.low, dist.high, log=dist.log)
            if isinstance(dist, optuna.distributions.IntDistribution)
            else trial.suggest_float(name, dist.low, dist.high, log=dist.log)
        )
        for name, dist in space.items()
    }


def default_study_name(config, quick=False):
    """``jsb-{protocol}`` (``-quick`` for the smoke run): one name per protocol, so both fit one storage."""
    return f"jsb-{config.protocol}{'-quick' if quick else ''}"
