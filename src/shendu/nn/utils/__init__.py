"""``shendu.nn.utils``: gradient clipping and parameter/vector conversion, as ``torch.nn.utils``.

>>> import shendu
>>> from shendu import nn
>>> net = nn.Linear(3, 2)
>>> net(shendu.ones(4, 3)).sum().backward()
>>> total = nn.utils.clip_grad_norm_(net.parameters(), max_norm=1.0)
>>> bool(total.item() > 1.0), round(float(nn.utils.clip_grad_norm_(net.parameters(), 1.0)), 4)
(True, 1.0)
"""

from shendu.nn.utils.clip_grad import clip_grad_norm_, clip_grad_value_, get_total_norm
from shendu.nn.utils.convert_parameters import parameters_to_vector, vector_to_parameters

__all__ = [
    "clip_grad_norm_",
    "clip_grad_value_",
    "get_total_norm",
    "parameters_to_vector",
    "vector_to_parameters",
]
