"""The curse of dimensionality, measured: the article's three experiments.

1. **Random directions are almost orthogonal.** The angle between two random vectors
   in D dimensions concentrates at 90° as D grows (its spread shrinks like 1/√D), so
   "close" and "far" lose their contrast: :func:`random_pair_angles`.
2. **A ball's volume lives in its skin.** The fraction of a D-ball's volume in the outer
   shell of relative thickness s is 1 − (1 − s)^D; for s = 1% it passes 90% at D = 230 and
   98% at D = 390 (0.982 at D = 400): :func:`shell_volume_fraction`,
   :func:`dimension_for_shell_fraction`.
3. **The inscribed ball vanishes from the cube.** The ball of diameter 1 inside the unit
   hypercube holds π/4 of the square, π/6 of the cube, and a fraction that tends to 0:
   V_ball / V_cube = π^{D/2} / Γ(D/2 + 1) · (1/2)^D (:func:`ball_to_cube_volume_ratio`):
   nearly all of a hypercube's volume is in its corners.
"""

import math

import numpy as np
from scipy.special import gammaln

#: The dimensions of the article's angle histograms.
ARTICLE_DIMENSIONS = (2, 3, 50, 100)


def random_pair_angles(dim, n_pairs=10_000, seed=0, distribution="normal"):
    """Angles in degrees between ``n_pairs`` pairs of random vectors in ``dim`` dimensions.

    Args:
        distribution: ``"normal"`` (standard Gaussian entries: uniformly random directions)
            or ``"uniform"`` (entries uniform on [-1, 1]: points of the centred hypercube).

    Returns:
        ``(n_pairs,)`` float64 angles in [0, 180].
    """
    if dim < 1 or n_pairs < 1:
        raise ValueError(f"dim and n_pairs must be at least 1, got dim={dim}, n_pairs={n_pairs}")
    rng = np.random.default_rng(seed)
    if distribution == "normal":
        a, b = rng.standard_normal((2, n_pairs, dim))
    elif distribution == "uniform":
        a, b = rng.uniform(-1.0, 1.0, (2, n_pairs, dim))
    else:
        raise ValueError(f"distribution must be 'normal' or 'uniform', got {distribution!r}")
    cosine = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))


def shell_volume_fraction(dim, shell=0.01):
    """Fraction of a D-ball's volume within relative distance ``shell`` of its surface:
    1 − (1 − shell)^D (a ball of radius r has volume ∝ r^D). Works on arrays of ``dim``."""
    if not 0.0 < shell < 1.0:
        raise ValueError(f"shell must be a fraction of the radius in (0, 1), got {shell}")
    return 1.0 - (1.0 - shell) ** np.asarray(dim, dtype=np.float64)


def dimension_for_shell_fraction(fraction, shell=0.01):
    """Smallest D at which the outer ``shell`` holds at least ``fraction`` of the ball's volume:
    D = ⌈log(1 − fraction) / log(1 − shell)⌉."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must lie in (0, 1), got {fraction}")
    exact = math.log1p(-fraction) / math.log1p(-shell)
    dim = math.ceil(exact - 1e-9)  # an exact integer stays itself despite round-off
    return dim if shell_volume_fraction(dim, shell) >= fraction else dim + 1


def ball_volume(dim, radius=1.0):
    """Volume of the D-ball, π^{D/2} / Γ(D/2 + 1) · r^D (through log-gamma, so large D is fine)."""
    dim = np.asarray(dim, dtype=np.float64)
    return np.exp(dim / 2 * np.log(np.pi) - gammaln(dim / 2 + 1) + dim * np.log(radius))


def ball_to_cube_volume_ratio(dim):
    """Volume of the ball inscribed in the unit hypercube (radius 1/2) over the cube's volume 1."""
    return ball_volume(dim, radius=0.5)


def plot_angle_histograms(angles_by_dim, bins=90):
    """One histogram a dimension, on a shared 0–180° axis. ``angles_by_dim``: ``{D: angles}``."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(angles_by_dim), figsize=(4 * len(angles_by_dim), 3.2), sharex=True)
    for ax, (dim, angles) in zip(np.atleast_1d(axes), angles_by_dim.items()):
        ax.hist(angles, bins=bins, range=(0, 180), color="tab:blue")
        ax.axvline(90, color="k", lw=0.8, ls="--")
        ax.set_title(f"D = {dim}: mean {np.mean(angles):.1f}°, std {np.std(angles):.1f}°")
        ax.set_xlabel("angle between a random pair (degrees)")
    fig.tight_layout()
    return fig


def plot_shell_fraction(max_dim=600, shell=0.01, marks=(0.9, 0.98)):
    """The curve 1 − (1 − shell)^D for D = 1 … max_dim, with the D where it passes each of ``marks``."""
    import matplotlib.pyplot as plt

    dims = np.arange(1, max_dim + 1)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(dims, shell_volume_fraction(dims, shell))
    for fraction in marks:
        dim = dimension_for_shell_fraction(fraction, shell)
        ax.axvline(dim, color="gray", ls=":")
        ax.annotate(f"{fraction:.0%} at D = {dim}", (dim, fraction), xytext=(8, -14), textcoords="offset points")
    ax.set_xlabel("dimension D")
    ax.set_ylabel(f"volume fraction in the outer {shell:.0%} shell")
    ax.set_ylim(0, 1.02)
    fig.tight_layout()
    return fig


def plot_ball_to_cube_ratio(max_dim=20):
    """V_ball / V_cube for D = 1 … max_dim, on a log axis."""
    import matplotlib.pyplot as plt

    dims = np.arange(1, max_dim + 1)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.semilogy(dims, ball_to_cube_volume_ratio(dims), "o-")
    ax.set_xlabel("dimension D")
    ax.set_ylabel("inscribed ball volume / hypercube volume")
    ax.set_xticks(dims)
    fig.tight_layout()
    return fig
