"""shendu.utils: the places PyTorch scripts import helpers from (``shendu.utils.data``)."""
