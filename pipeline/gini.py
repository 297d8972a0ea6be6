"""Gini impurity, the split criterion of CART decision trees (and of the random forest).

The article's example: a node with 8 "yes" and 4 "no" is split into children of 4/4 and 4/0.
Gini(4/4) = 1 − (0.5² + 0.5²) = 0.5, Gini(4/0) = 1 − 1² = 0, and the split's weighted Gini is
8/12 · 0.5 + 4/12 · 0 = 0.3333 — lower than the parent's 1 − ((8/12)² + (4/12)²) = 0.4444, so
the split makes the node purer.
"""

import numpy as np
from sklearn.tree import DecisionTreeClassifier


def gini_impurity(counts):
    """Gini = 1 − Σ_k p_k², with p_k the share of class k among the node's rows.

    counts: rows per class, e.g. ``(8, 4)``. 0 for a pure node; 0.5 for an even two-class node.
    """
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 1 or (counts < 0).any() or counts.sum() == 0:
        raise ValueError(f"counts must be non-negative class counts with at least one row, not {counts.tolist()}")
    p = counts / counts.sum()
    return float(1.0 - np.sum(p**2))


def weighted_gini(children):
    """Gini of a split: Σ_children (n_child / n) · Gini(child).

    children: one sequence of class counts per child node, e.g. ``[(4, 4), (4, 0)]`` → 0.3333.
    """
    sizes = np.array([np.sum(child) for child in children], dtype=float)
    return float(sum(size / sizes.sum() * gini_impurity(child) for size, child in zip(sizes, children)))


def cart_split_impurities(children):
    """The same split made by scikit-learn's CART tree: the impurities it reports.

    children: class counts of the two children, e.g. ``[(4, 4), (4, 0)]``. Builds one row per
    count with a single feature saying which child the row belongs to, fits a depth-1
    ``DecisionTreeClassifier(criterion="gini")`` (the trees of the random forest) and returns
    ``{"parent": Gini of the root, "children": [Gini left, Gini right], "weighted": weighted Gini}``
    as the tree computed them — equal to `gini_impurity` / `weighted_gini`.
    """
    if len(children) != 2:
        raise ValueError(f"a CART split has two children, not {len(children)}")
    X = np.concatenate([np.full(int(np.sum(child)), side) for side, child in enumerate(children)])[:, None]
    y = np.concatenate([np.full(int(n), cls) for child in children for cls, n in enumerate(child)])
    tree = DecisionTreeClassifier(criterion="gini", max_depth=1, random_state=0).fit(X, y).tree_
    if tree.node_count != 3:
        raise ValueError(f"the tree did not split {[list(c) for c in children]}: a child must differ from the parent")
    left, right = tree.children_left[0], tree.children_right[0]
    sizes = tree.n_node_samples
    weighted = (sizes[left] * tree.impurity[left] + sizes[right] * tree.impurity[right]) / sizes[0]
    return {
        "parent": float(tree.impurity[0]),
        "children": [float(tree.impurity[left]), float(tree.impurity[right])],
        "weighted": float(weighted),
    }
