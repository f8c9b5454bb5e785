import pathlib

import numpy as np
import pytest

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
FASHION_MNIST = pathlib.Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture
def fixtures_dir():
    return FIXTURES


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same random state."""
    import gluonlite as mx
    mx.random.seed(0)
    np.random.seed(0)
    yield


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False,
                     help="also run tests marked slow (long soaks; `make soak`)")


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--runslow"):
        skip_slow = pytest.mark.skip(reason="slow soak: run with --runslow (make soak)")
        for item in items:
            if "slow" in item.keywords:
                item.add_marker(skip_slow)
    try:
        import cupy  # noqa: F401
        has_gpu = cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        has_gpu = False
    if not has_gpu:
        skip = pytest.mark.skip(reason="needs a CUDA GPU with CuPy installed")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)
