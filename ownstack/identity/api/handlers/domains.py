"""Domains: ``/v3/domains``, a plain noun (see :mod:`.crud`)."""

from __future__ import annotations

from ownstack.identity.api import views
from ownstack.identity.api.handlers.crud import Noun
from ownstack.identity.api.schemas import domains as schema
from ownstack.identity.objects import domains

DOMAIN = Noun("domain", views.domain, schema.CREATE, schema.UPDATE,
              find=domains.list_domains, get=domains.get_domain, add=domains.create_domain,
              change=domains.update_domain, remove=domains.delete_domain,
              filters=("name",), flags=("enabled",))

list_domains, show_domain, create_domain = DOMAIN.list, DOMAIN.show, DOMAIN.create
update_domain, delete_domain = DOMAIN.update, DOMAIN.delete
