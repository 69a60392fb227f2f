"""Every case of tests/device/cases.py on the stand-in GPU gives the CPU's numbers to float32 rounding
(the stand-in computes with NumPy), and leaves its outputs and gradients on the device."""

from __future__ import annotations

import pytest

from tests.device.cases import CASES, check_case


@pytest.mark.usefixtures("fake_cuda")
@pytest.mark.parametrize("fn, inputs", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_case_on_fake_gpu(fn, inputs):
    check_case(fn, inputs, "cuda", rtol=2e-5, atol=2e-6)


@pytest.mark.usefixtures("fake_cuda")
def test_batch_norm_statistics_on_another_device_is_torchs_error():
    """Running statistics are updated in place where they are, so they must be on x's device."""
    import numpy as np

    import shendu
    import shendu.nn.functional as F

    x = shendu.tensor(np.ones((4, 3), np.float32), device="cuda")
    stats = shendu.zeros(3), shendu.ones(3)
    with pytest.raises(RuntimeError, match="same device.*cuda:0 and cpu.*batch_norm"):
        F.batch_norm(x, *stats, training=True)
