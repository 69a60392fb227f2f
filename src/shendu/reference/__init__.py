"""Plain, book-style implementations of the course's layers, to read beside the notes.

``shendu.reference`` is the course's code as a student writes it after reading a chapter: NumPy
only, one class per node of the notes' figures, loops where the book has loops. The fast library
(``shendu.ops``, ``shendu.nn.functional``, ``shendu.optim``) computes the same numbers faster;
``tests/course`` proves they agree. Only tests and lessons import this package: the library never
does, so it costs nothing at run time.

- ``layers``: ``MulLayer``, ``AddLayer`` (乘法节点、加法节点), ``Relu``, ``Sigmoid``, ``Affine``,
  ``SoftmaxWithLoss`` (backward (y − t)/N).
- ``conv``: loop-filled ``im2col`` / ``col2im`` in the book's (N·OH·OW, C·FH·FW) layout,
  ``Convolution``, ``Pooling`` (im2col + argmax).
- ``optim``: ``SGD``, ``Momentum`` (v ← αv − η∂L/∂W; W ← W + v), ``Adam`` (动量 + 偏差修正).
- ``engine``: a ~30-line backward engine (链式法则 over a computational graph).
"""

from shendu.reference import conv, engine, layers, optim

__all__ = ["conv", "engine", "layers", "optim"]
