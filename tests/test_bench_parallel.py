"""benchmarks/_parallel.py: cases on Dask worker processes give the in-process results, in order."""

import pytest

from benchmarks._data import _natural
from benchmarks._parallel import workers


@pytest.mark.parametrize("jobs", [1, 2])
def test_workers_keep_the_order_and_results(jobs, tmp_path):
    items = [tmp_path / n for n in ("a12", "b3", "c7", "a2")]
    with workers(jobs) as pool:
        out = list(pool.map(_natural, items))
    assert out == [_natural(p) for p in items]


def test_an_error_in_a_case_reaches_the_caller():
    with workers(1) as pool, pytest.raises(AttributeError):
        list(pool.map(_natural, [3]))
