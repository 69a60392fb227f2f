"""Every case of tests/device/cases.py on the stand-in GPU gives the CPU's numbers to float32 rounding
(the stand-in computes with NumPy), and leaves its outputs and gradients on the device."""

from __future__ import annotations

import pytest

from tests.device.cases import CASES, check_case


@pytest.mark.usefixtures("fake_cuda")
@pytest.mark.parametrize("fn, inputs", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_case_on_fake_gpu(fn, inputs):
    check_case(fn, inputs, "cuda", rtol=2e-5, atol=2e-6)
