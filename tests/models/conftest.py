import pytest


@pytest.fixture
def no_init(monkeypatch):
    """Skip the random weight draws while building networks whose counts, key names and shapes are
    checked: those do not depend on the values, and drawing 140 M VGG weights costs seconds.
    Every weight is zero instead."""
    from shendu.nn import init

    def zero(tensor, *args, **kwargs):  # defined values (np.empty may hold NaNs), no random draws
        tensor.data.zero_()
        return tensor

    for name in (
        "uniform_",
        "normal_",
        "trunc_normal_",
        "constant_",
        "ones_",
        "zeros_",
        "xavier_uniform_",
        "xavier_normal_",
        "kaiming_uniform_",
        "kaiming_normal_",
    ):
        monkeypatch.setattr(init, name, zero)


@pytest.fixture(autouse=True)
def _torch_one_thread():
    """torch's thread pool fights shendu's BLAS for the 2 cores (torch's small convolutions ran 10× slower);
    one thread per test here, restored after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
