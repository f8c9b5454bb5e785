import pytest

from gluonlite import kernels


@pytest.fixture(autouse=True)
def kernels_on():
    """Fast kernels on for every test here (whatever GLUONLITE_JIT says: these test them)."""
    was = kernels.enabled()
    kernels.set_enabled(True)
    yield
    kernels.set_enabled(was)
