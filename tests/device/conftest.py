import pytest

from shendu import backend
from tests.device.fake_cuda import FakeCudaBackend


@pytest.fixture
def fake_cuda():
    """A stand-in "cuda" device (NumPy behind CuPy's rules) for the duration of one test."""
    previous = backend.loaded("cuda")
    backend.register(FakeCudaBackend())
    yield
    backend.unregister("cuda")
    if previous is not None:
        backend.register(previous)
