"""What one reconcile of one key tells the agent runtime.

A controller's ``apply`` ends in one of three ways, and says which with a type, never by
sleeping or looping itself (STYLE.md, after kopf):

* ``None``: converged, or as far as this pass can go; the next nudge or resync looks again;
* :class:`Retry`: not converged for a passing reason (the control plane did not answer, a
  device is busy); the runtime reconciles the key again after ``delay`` seconds, a bounded
  number of times, and then leaves it to the periodic resync;
* :class:`Fatal`: cannot converge until the desired state changes (an image that does not
  boot, a config the host refuses); the controller has already put the reason where the
  user sees it (a fault, an ERROR status), and nothing is retried.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Retry:
    delay: float
    reason: str


@dataclass(frozen=True)
class Fatal:
    reason: str


Outcome = Retry | Fatal | None
