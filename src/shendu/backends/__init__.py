"""Switches of the GPU libraries, with PyTorch's names and defaults (``torch.backends``).

``shendu.backends.cuda.matmul.allow_tf32`` (default False) lets float32 matrix products run in
TF32 on tensor cores; ``shendu.backends.cudnn.allow_tf32`` (default True) does the same for
convolutions. TF32 keeps float32's range with a 10-bit mantissa: about 8× the speed on an
Ampere or Hopper GPU, at a relative error near 1e-3 per product. They do nothing on the CPU.
"""

from shendu.backends import cuda, cudnn

__all__ = ["cuda", "cudnn"]
