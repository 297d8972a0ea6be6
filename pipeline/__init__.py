"""pipeline: the data-mining article's six-phase process flow (scikit-learn,
imbalanced-learn and a Keras MLP).

Not built yet: the phases, models and reports are the work of a later issue.
Importing this package works and exports nothing.
"""

__all__ = []
