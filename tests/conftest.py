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


@pytest.fixture(scope="session")
def torchvision_mnist_root(tmp_path_factory):
    """A root laid out as torchvision's: ``root/MNIST/raw/t10k-*.gz`` linked to the shared test split."""
    names = ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    folder = os.environ.get("SHENDU_TEST_MNIST", SHARED_MNIST)  # a worktree elsewhere can point at it
    if not all(os.path.isfile(os.path.join(folder, n)) for n in names):
        pytest.skip(f"the MNIST test split (IDX gzip) is not in {os.path.abspath(folder)}")
    root = tmp_path_factory.mktemp("torchvision-root")
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for n in names:
        (raw / n).symlink_to(os.path.abspath(os.path.join(folder, n)))
    return root
