"""Helpers behind the book's pictures and comparisons: the convex hull of value vectors
(plotting) and how fast a recurrent network forgets (examples), each checked against an
independent reference or a proven bound."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selfattention.examples import recurrent_influence
from selfattention.plotting import convex_hull


def cross(o, a, b):
    """> 0 when o → a → b turns left (counter-clockwise),
    0 when the three points are collinear.
    """
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def as_cycle(points):
    """The same cyclic sequence of corners, starting from its smallest point
    (so that two cycles compare).
    """
    points = [tuple(map(float, p)) for p in points]
    start = points.index(min(points))
    return points[start:] + points[:start]


def test_convex_hull_of_a_square_with_points_inside_and_on_its_edges():
    corners = [(0, 0), (4, 0), (4, 4), (0, 4)]  # counter-clockwise
    # inside, or on an edge: not corners
    others = [(2, 2), (1, 3), (2, 0), (4, 1), (0, 3), (3, 4)]
    points = np.array(others[:3] + corners[::-1] + others[3:], dtype=float)
    assert as_cycle(convex_hull(points)) == as_cycle(corners)


def test_convex_hull_of_collinear_points_is_the_two_ends():
    points = np.array([(1, 1), (3, 3), (0, 0), (2, 2), (-1, -1)], dtype=float)
    assert sorted(map(tuple, convex_hull(points).tolist())) == [
        (-1.0, -1.0),
        (3.0, 3.0),
    ]


def is_corner(p, others):
    """Whether p lies outside the convex hull of ``others`` (brute force: every triangle
    and segment of them).
    """
    for a, b in itertools.combinations(others, 2):  # on a segment between two others
        if (
            cross(a, b, p) == 0
            and min(a[0], b[0]) <= p[0] <= max(a[0], b[0])
            and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])
        ):
            return False
    for a, b, c in itertools.combinations(others, 3):
        # inside (or on the edge of) a triangle of three others
        signs = {
            np.sign(cross(a, b, p)),
            np.sign(cross(b, c, p)),
            np.sign(cross(c, a, p)),
        }
        if cross(a, b, c) != 0 and not ({1, -1} <= signs):
            return False
    return True


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 4)),
        min_size=1,
        max_size=9,
        unique=True,
    )
)
def test_convex_hull_corners_are_exactly_the_extreme_points(points):
    """On a small grid, where many points are collinear: the corners, counter-clockwise,
    with no point outside.
    """
    hull = [tuple(map(int, p)) for p in convex_hull(np.array(points, dtype=float))]
    expected = {p for p in points if is_corner(p, [o for o in points if o != p])}
    assert len(hull) == len(set(hull))
    assert set(hull) == expected
    if len(hull) >= 3:
        for a, b, c in zip(hull, hull[1:] + hull[:1], hull[2:] + hull[:2], strict=True):
            # every corner turns left: counter-clockwise, no straight angles
            assert cross(a, b, c) > 0
        for p in points:
            assert all(
                cross(a, b, p) >= 0
                for a, b in zip(hull, hull[1:] + hull[:1], strict=True)
            )


@pytest.mark.parametrize("gain", [0.5, 0.9, 1.0])
def test_recurrent_influence_decays_at_least_as_fast_as_the_gain(gain):
    """h_t = tanh(W h_(t-1) + x_t) with ‖W‖ = gain and |tanh'| ≤ 1: after t steps the
    first input's influence is at most gain^t. (A finite-difference estimate: allow a
    relative 1e-4 for the second-order term.)"""
    distances = np.arange(0, 13)
    influence = recurrent_influence(distances, gain=gain)
    assert influence.shape == distances.shape
    assert (influence > 0).all()
    assert (np.diff(influence) < 0).all()  # every further step forgets a little more
    assert (influence <= gain**distances * (1 + 1e-4)).all()


def test_recurrent_influence_is_reported_per_distance_asked_for():
    ordered = recurrent_influence([0, 2, 5, 9])
    np.testing.assert_allclose(
        recurrent_influence([9, 0, 5, 2]), ordered[[3, 0, 2, 1]], rtol=1e-12
    )
