"""A server's tags (2.26+), after Nova's ``schemas/server_tags.py``."""

from __future__ import annotations

from typing import Final

from ownstack.common.api.schema import Validator
from ownstack.compute.api.schemas.parameter_types import TAG, TAGS, one

REPLACE_TAGS: Final = Validator(one("tags", TAGS))
# A tag in the URL of PUT /servers/{id}/tags/{tag}, held to the rules of one in a body.
TAG_IN_URL: Final = Validator(TAG)
