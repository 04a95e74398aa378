"""A migration's statuses, Nova's words, shared by the API, the conductor and the agents
(which report them): see :mod:`ownstack.compute.objects.migrations` for their meaning."""

from __future__ import annotations

from typing import Final

PRE_MIGRATING: Final = "pre-migrating"
MIGRATING: Final = "migrating"
POST_MIGRATING: Final = "post-migrating"
FINISHED: Final = "finished"
CONFIRMING: Final = "confirming"
CONFIRMED: Final = "confirmed"
REVERTING: Final = "reverting"
REVERTED: Final = "reverted"
ERROR: Final = "error"
# Statuses in which the migration's uuid may hold an allocation.
IN_PROGRESS: Final = frozenset({PRE_MIGRATING, MIGRATING, POST_MIGRATING, FINISHED,
                                CONFIRMING, REVERTING})
DONE: Final = frozenset({CONFIRMED, REVERTED, ERROR})
