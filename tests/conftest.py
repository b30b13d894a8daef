"""Shared test configuration: one derandomized hypothesis profile, and the shared strategies.

The profile is loaded before any test module is imported, so every ``settings(...)`` in the suite
inherits ``derandomize=True``: the same examples run on every machine and CI never fails at random.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

settings.register_profile(
    "tensorlib",
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
)
settings.load_profile("tensorlib")


@st.composite
def partitions(draw: st.DrawFn, n: int) -> tuple:
    """A partition (I, J) of ``range(n)`` with both sides non-empty, as sorted tuples."""
    mask = draw(st.lists(st.booleans(), min_size=n, max_size=n).filter(lambda m: 0 < sum(m) < n))
    I = tuple(i for i in range(n) if mask[i])
    J = tuple(i for i in range(n) if not mask[i])
    return I, J
