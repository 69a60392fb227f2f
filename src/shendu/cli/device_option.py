"""``--device cpu|cuda|auto`` for ``shendu train``, ``eval`` and ``predict``.

``cpu`` is the default, so results stay reproducible from machine to machine; ``cuda`` (or
``cuda:N``) trains on an NVIDIA GPU through CuPy; ``auto`` takes the GPU when there is one.
"""

from __future__ import annotations

import argparse

HELP = (
    "where to compute: cpu (default), cuda / cuda:N (an NVIDIA GPU through CuPy: "
    'pip install "shendu[cuda]"), or auto (the GPU when there is one)'
)


def add_device_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="cpu", metavar="DEVICE", help=HELP)


def pick_device(name: str):
    """The :class:`shendu.device` that ``--device name`` means; a clear error if it cannot be used."""
    import shendu
    from shendu import backend

    if name == "auto":
        return shendu.device("cuda" if shendu.cuda.is_available() else "cpu")
    try:
        d = shendu.device(name)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"--device: {err}") from None
    if d.type != "cpu":
        try:
            backend.backend_for(d)
        except RuntimeError as err:
            raise ValueError(f"--device {name}: {err}") from None
    return d
