"""``shendu.onnx``: export a model to an ONNX file, to run it with onnxruntime or load it elsewhere::

    import shendu
    from shendu import models

    net = models.lenet().eval()
    shendu.onnx.export(net, shendu.zeros(1, 1, 28, 28), "lenet.onnx")

Needs the optional ``onnx`` package (``pip install shendu[onnx]``), imported only when exporting.
"""

from shendu.onnx.export import UnsupportedOpError, export

__all__ = ["export", "UnsupportedOpError"]
