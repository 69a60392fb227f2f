"""``shendu.backends.cudnn``: PyTorch's convolution switches.

shendu computes a convolution as an im2col matrix product (no cuDNN), so ``allow_tf32`` here
decides whether those products may use TF32 (PyTorch's default: True). ``benchmark``,
``deterministic`` and ``enabled`` are accepted so that PyTorch scripts run; shendu's GPU
convolutions are deterministic whatever they say.
"""

allow_tf32: bool = True
benchmark: bool = False
deterministic: bool = False
enabled: bool = True
