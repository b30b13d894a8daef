"""Tests of tensorlib.book's committed results (the glue fallback is tested in test_chapters_portable)."""

import pytest

from tensorlib import bounds
from tensorlib.book import frontier_rank, load_result


def test_the_committed_results_ship_with_the_package_and_name_their_command():
    for name in ("frontier", "appendix_d"):
        record = load_result(name)
        commands = [record["command"]] if "command" in record else [r["command"] for r in record.values()]
        assert all(command.startswith("python benchmarks/") for command in commands)


def test_an_unknown_result_is_refused_with_the_known_names():
    with pytest.raises(ValueError, match=r"no committed result named 'nope'; tensorlib ships \['appendix_d'"):
        load_result("nope")


@pytest.mark.parametrize("name, bound", [
    ("rac_d3_T10", bounds.rac_start_end_upper_bound(10, 3, 3)),
    ("rac_d3_T12", bounds.rac_start_end_upper_bound(12, 3, 3)),
    ("attention_w4_d3", bounds.self_attention_rank_upper_bound(4, 3)),
])
def test_frontier_ranks_read_as_the_run_found_them_and_respect_our_bounds(name, bound):
    result = frontier_rank(name)
    assert result.upper_bound == bound and result.rank <= bound
    assert result.status == load_result("frontier")[name]["status"]
    if result.status == "saturated (confirmed)":
        assert result.is_value and result.confirmation.rank == result.rank and result.rank < result.samples
