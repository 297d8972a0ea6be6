"""The choices of a ``dm-pipeline run`` (:class:`FlowConfig`) and their lists; imports nothing heavy.

The command line builds its flags from this dataclass, so ``dm-pipeline --help`` and an argument
error answer without loading pandas, scikit-learn or TensorFlow (:mod:`pipeline.flow` runs it).
"""

import dataclasses

from cli_common import seed_problem
from pipeline.errors import PipelineError

OUTLIER_CHOICES = ("clip", "drop", "none")  # what phase 1 does at |z| > z_threshold


@dataclasses.dataclass
class FlowConfig:
    """The choices of one run; every field is a ``dm-pipeline run`` flag.

    test_size: share of all rows kept for phase 6 (stratified). validation_size: share of
    the training rows held out in phase 4. outliers: "clip", "drop" or "none" at |z| >
    z_threshold. use_lda: False skips phase 3. balance_test: also report metrics on a
    SMOTE-balanced test set (optimistic; see BALANCE_TEST_WARNING). quick: tiny search grids.
    """

    seed: int = 0
    test_size: float = 0.25
    validation_size: float = 0.25
    outliers: str = "clip"
    z_threshold: float = 3.0
    use_lda: bool = True
    balance_test: bool = False
    quick: bool = False

    def __post_init__(self):
        """Refuse settings no run can use, before anything is read or written.

        Raises:
            PipelineError: naming the parameter (``seed``, ``test_size``, ...) and the fix.
        """
        problem = seed_problem(self.seed)
        if problem:
            raise PipelineError(problem + ".", parameter="seed")
        for name in ("test_size", "validation_size"):
            if not 0 < getattr(self, name) < 1:
                raise PipelineError(
                    f"{name} {getattr(self, name)}: give a share between 0 and 1, e.g. 0.25.", parameter=name
                )
        if self.outliers not in OUTLIER_CHOICES:
            raise PipelineError(
                f"outliers {self.outliers!r}: choose one of {', '.join(OUTLIER_CHOICES)}.", parameter="outliers"
            )
        if not self.z_threshold > 0:  # "not >": NaN too, which compares false with everything
            raise PipelineError(
                f"z_threshold {self.z_threshold}: give a positive number of standard deviations.",
                parameter="z_threshold",
            )
