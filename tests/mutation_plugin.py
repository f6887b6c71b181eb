"""A pytest plugin loaded only by `make mutation` (see [tool.mutmut] in pyproject.toml).

mutmut 3.8 records which tests reach which function through ``item._nodeid``, an attribute pytest 9
no longer sets (it keeps ``item.nodeid``). Without it mutmut's stats run fails on the first test.
"""

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    for item in items:
        item._nodeid = item.nodeid
