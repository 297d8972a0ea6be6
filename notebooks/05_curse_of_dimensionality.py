# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The curse of dimensionality, measured
#
# Companion to the article on the curse of dimensionality. The experiments are functions of
# `pipeline.dimensionality`:
#
# 1. angles between 10,000 random pairs of vectors in D = 2, 3, 50, 100 dimensions;
# 2. the share of a D-ball's volume in its outer 1% shell, 1 − 0.99^D;
# 3. the ball inscribed in a hypercube, as a share of the cube's volume.
#
# `QUICK = True` (the test suite) uses 2,000 pairs.

# %% tags=["parameters"]
QUICK = False

# %%
import numpy as np

from pipeline.dimensionality import (
    ARTICLE_DIMENSIONS,
    ball_to_cube_volume_ratio,
    dimension_for_shell_fraction,
    plot_angle_histograms,
    plot_ball_to_cube_ratio,
    plot_shell_fraction,
    random_pair_angles,
    shell_volume_fraction,
)

# %% [markdown]
# ## 1. Random pairs are almost orthogonal in high dimensions
#
# Two random directions (Gaussian vectors) in the plane make any angle with equal chance; in
# 100 dimensions nearly every pair is within a few degrees of 90°: the cosine of the angle has
# standard deviation 1/√D. Distances and angles stop telling points apart.

# %%
n_pairs = 2_000 if QUICK else 10_000
angles = {dim: random_pair_angles(dim, n_pairs=n_pairs, seed=0) for dim in ARTICLE_DIMENSIONS}
for dim, a in angles.items():
    print(
        f"D = {dim:>3}: mean {a.mean():6.2f}°  std {a.std():5.2f}°  "
        f"(1/√D in degrees: {np.degrees(1 / np.sqrt(dim)):5.2f}°)"
    )
_ = plot_angle_histograms(angles)

# %% [markdown]
# The same holds for points drawn uniformly in the hypercube [−1, 1]^D:

# %%
_ = plot_angle_histograms(
    {dim: random_pair_angles(dim, n_pairs=n_pairs, seed=0, distribution="uniform") for dim in ARTICLE_DIMENSIONS}
)

# %% [markdown]
# ## 2. The volume of a ball is in its skin
#
# A ball of radius r has volume ∝ r^D, so the inner ball of radius 0.99 holds 0.99^D of it and
# the outer 1% shell holds 1 − 0.99^D. The article says "over 400" dimensions for 98%; the
# exact curve passes 90% at D = 230 and 98% at D = 390 (at D = 400 the shell holds 98.2%).

# %%
for fraction in (0.5, 0.9, 0.98, 0.99):
    print(f"{fraction:.0%} of the volume in the outer 1% from D = {dimension_for_shell_fraction(fraction)}")
print("D = 400:", round(float(shell_volume_fraction(400)), 4))
_ = plot_shell_fraction(max_dim=600)

# %% [markdown]
# ## 3. The inscribed ball vanishes from the hypercube
#
# The ball of diameter 1 in the unit cube: π/4 of the square, π/6 of the cube, and then almost
# nothing. In high dimensions nearly all of a cube's volume is in its 2^D corners, far from the
# centre.

# %%
for dim in (1, 2, 3, 5, 10, 20, 50):
    print(f"D = {dim:>2}: ball / cube = {float(ball_to_cube_volume_ratio(dim)):.3g}")
print("π/4 =", round(np.pi / 4, 4), " π/6 =", round(np.pi / 6, 4))
_ = plot_ball_to_cube_ratio(max_dim=20)
