"""The array module every op computes with.

``xp`` is NumPy by default. Ops call ``xp.*`` (never ``numpy.*``) so that a
module with NumPy's interface, such as CuPy, can run the same code on a GPU.

>>> from descend.engine.backend import xp
>>> float(xp.exp(0.0))
1.0
"""

from __future__ import annotations

import numpy

xp = numpy
"""The active array module (NumPy)."""

ndarray = numpy.ndarray

__all__ = ["xp", "ndarray"]
