import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from threadpoolctl import threadpool_limits

import shendu

# CI runs two pytest workers on two cores: one BLAS thread each, or they fight over the cores.
threadpool_limits(1)
# ...and one shendu thread each (tests/nn/test_parallel_kernels.py sets more where it checks them).
shendu.set_num_threads(1)

settings.register_profile(
    "ci", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile(
    "dev", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

if os.environ.get("SHENDU_TEST_DEVICE") == "fake-cuda":
    # Every check_op also runs on the stand-in GPU of tests/device/fake_cuda.py (see tests/helpers.py).
    from shendu import backend
    from tests.device.fake_cuda import FakeCudaBackend

    backend.register(FakeCudaBackend())

SHARED_MNIST = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _seed():
    import shendu

    shendu.manual_seed(0)
