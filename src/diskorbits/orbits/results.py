"""Per-star result codes of an orbit integration.

Catalogue work integrates 10^5 stars at once; one star with a NaN input or an
orbit that needs more steps than allowed must not abort the other 99,999. The
integrators therefore never raise on data-dependent problems inside ``jit``:
each star gets one of these codes in :attr:`Orbits.result`.
"""

from __future__ import annotations

import enum

__all__ = ["OrbitResult"]


class OrbitResult(enum.IntEnum):
    """Outcome of integrating one star (stored as int32 in :attr:`Orbits.result`).

    >>> from diskorbits.orbits import OrbitResult
    >>> int(OrbitResult.SUCCESS), OrbitResult(2).name
    (0, 'NONFINITE')
    """

    #: The orbit reached the last requested time with finite phase-space coordinates.
    SUCCESS = 0
    #: The adaptive integrator hit ``max_steps`` before the last requested time.
    MAX_STEPS_REACHED = 1
    #: A coordinate became NaN or infinite (bad input, or a star that fell onto a singularity).
    NONFINITE = 2
    #: Any other failure reported by the adaptive solver (e.g. step size underflow).
    SOLVER_FAILED = 3
