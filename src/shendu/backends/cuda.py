"""``shendu.backends.cuda.matmul.allow_tf32``: TF32 for float32 matrix products on the GPU.

PyTorch's default is False (full float32 precision for ``matmul`` and ``Linear``).
"""

from __future__ import annotations


class _Matmul:
    """Holder of the matmul switch (an object, so ``matmul.allow_tf32 = True`` reads as in PyTorch)."""

    allow_tf32: bool = False

    def __repr__(self) -> str:
        return f"matmul(allow_tf32={self.allow_tf32})"


matmul = _Matmul()
