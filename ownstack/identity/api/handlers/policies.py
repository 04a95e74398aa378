"""Keystone's deprecated policy store, ``/v3/policies``: a plain noun (see :mod:`.crud`)
that only the cloud admin writes. The blobs are stored, never enforced."""

from __future__ import annotations

from ownstack.identity.api import views
from ownstack.identity.api.handlers.crud import Noun
from ownstack.identity.api.schemas import credentials as schema
from ownstack.identity.objects import policies

POLICY = Noun("policy", views.policy, schema.CREATE_POLICY, schema.UPDATE_POLICY,
              find=policies.list_policies, get=policies.get_policy,
              add=policies.create_policy, change=policies.update_policy,
              remove=policies.delete_policy, filters=("type",), plural="policies")

list_policies, show_policy, create_policy = POLICY.list, POLICY.show, POLICY.create
update_policy, delete_policy = POLICY.update, POLICY.delete
