"""Actions, angles and frequencies of disk orbits.

One entry point, :func:`compute_actions`, with interchangeable methods:

* :class:`StaeckelFudge` -- Binney (2012) Stäckel fudge with per-star or fixed
  focal distance (default);
* :class:`Epicycle` -- the small-amplitude (epicycle) limit.

The result is a frozen :class:`ActionResult`; per-star problems are reported
as bits of :class:`ActionFlag` (outputs NaN) and summarised in an
:class:`ActionWarning`.
"""

from .compute import ActionWarning, compute_actions
from .epicycle import Epicycle
from .result import ActionFlag, ActionResult
from .staeckel import StaeckelFudge
from ._method import AbstractActionMethod

__all__ = [
    "compute_actions",
    "StaeckelFudge",
    "Epicycle",
    "AbstractActionMethod",
    "ActionResult",
    "ActionFlag",
    "ActionWarning",
]
