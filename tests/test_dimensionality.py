"""The curse-of-dimensionality article's experiments (pipeline.dimensionality)."""

import math

import numpy as np
import pytest

from pipeline.dimensionality import (
    ball_to_cube_volume_ratio,
    ball_volume,
    dimension_for_shell_fraction,
    random_pair_angles,
    shell_volume_fraction,
)


@pytest.mark.parametrize("distribution", ["normal", "uniform"])
def test_random_pair_angles_concentrate_at_90_degrees_as_dimension_grows(distribution):
    stats = {dim: random_pair_angles(dim, n_pairs=10_000, seed=0, distribution=distribution) for dim in (2, 3, 50, 100)}
    assert all(a.shape == (10_000,) and a.min() >= 0 and a.max() <= 180 for a in stats.values())
    assert abs(stats[100].mean() - 90) < 0.5 and abs(stats[50].mean() - 90) < 0.5
    stds = [stats[dim].std() for dim in (2, 3, 50, 100)]
    assert stds == sorted(stds, reverse=True)  # the spread shrinks with every dimension
    assert stds[0] > 45 and stds[-1] < 7  # D=2: uniform on [0, 180] has std 52°; D=100: ≈ 5.7°


def test_in_two_dimensions_gaussian_pair_angles_are_uniform():
    angles = random_pair_angles(2, n_pairs=20_000, seed=1)
    assert angles.std() == pytest.approx(180 / math.sqrt(12), rel=0.02)  # std of U(0, 180)


def test_angle_spread_shrinks_like_one_over_root_d():
    # for large D the cosine of two random directions has std 1/√D, i.e. the angle ≈ (180/π)/√D degrees
    for dim in (50, 400):
        assert random_pair_angles(dim, seed=2).std() == pytest.approx(math.degrees(1 / math.sqrt(dim)), rel=0.05)


def test_angles_are_reproducible_and_validated():
    np.testing.assert_array_equal(random_pair_angles(5, 100, seed=3), random_pair_angles(5, 100, seed=3))
    with pytest.raises(ValueError, match="distribution"):
        random_pair_angles(5, distribution="cauchy")
    with pytest.raises(ValueError, match="at least 1"):
        random_pair_angles(0)


def test_shell_volume_fraction_is_one_minus_099_to_the_d():
    np.testing.assert_allclose(shell_volume_fraction([1, 2, 100]), [0.01, 1 - 0.99**2, 1 - 0.99**100])
    assert shell_volume_fraction(400) == pytest.approx(0.982, abs=5e-4)  # the article's "98% at 400"
    assert shell_volume_fraction(230) == pytest.approx(0.9009, abs=1e-4)
    with pytest.raises(ValueError, match="shell"):
        shell_volume_fraction(3, shell=1.5)


def test_dimension_for_shell_fraction_gives_the_exact_crossings():
    assert dimension_for_shell_fraction(0.9) == 230  # 1 - 0.99^229 = 0.8999
    assert shell_volume_fraction(229) < 0.9 <= shell_volume_fraction(230)
    assert dimension_for_shell_fraction(0.98) == 390  # so "over 400" is the safe side of 390
    assert shell_volume_fraction(389) < 0.98 <= shell_volume_fraction(390)
    assert dimension_for_shell_fraction(0.5, shell=0.5) == 1  # an exact power is not pushed up by round-off


def test_ball_to_cube_ratio_is_pi_over_4_then_pi_over_6_and_vanishes():
    assert ball_to_cube_volume_ratio(1) == pytest.approx(1.0)
    assert ball_to_cube_volume_ratio(2) == pytest.approx(math.pi / 4)
    assert ball_to_cube_volume_ratio(3) == pytest.approx(math.pi / 6)
    ratios = ball_to_cube_volume_ratio(np.arange(1, 30))
    assert np.all(np.diff(ratios) < 0) and ratios[-1] < 1e-10
    assert ball_to_cube_volume_ratio(1000) == pytest.approx(0.0, abs=1e-300)  # gammaln: no overflow


def test_unit_ball_volume_peaks_at_five_dimensions():
    volumes = ball_volume(np.arange(1, 15))
    assert volumes[1] == pytest.approx(math.pi) and volumes[2] == pytest.approx(4 * math.pi / 3)
    assert int(np.argmax(volumes)) + 1 == 5
