"""Fixtures shared by several test modules."""

import pytest
from targets import fit_banana


@pytest.fixture(scope="session")
def fitted_banana():
    """`(VariationalFlow, history)`: a flow fitted to `targets.banana`, shared by the VI and MCMC tests."""
    return fit_banana()
