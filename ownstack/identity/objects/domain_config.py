"""Domain-specific configuration: per domain, options of the ``identity`` and ``ldap``
groups, with Keystone's whitelist and its one sensitive option (``ldap.password``).

What is stored is configuration only: ownstack keeps every domain's users and groups in
SQL whatever ``identity.driver`` says (decision 72). Sensitive options are stored and
never shown; asking for one is as missing as an option that is not set.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.errors import Forbidden, NotFound
from ownstack.identity.objects.models import DomainConfigOption

log = logging.getLogger(__name__)

# Keystone's defaults for the options a domain may set (keystone/conf/identity.py and
# ldap.py); ``identity.driver`` is ``sql``, the only backend ownstack has.
DEFAULTS: dict[str, dict[str, Any]] = {
    "identity": {"driver": "sql", "list_limit": None},
    "ldap": {
        "url": "ldap://localhost", "user": None, "suffix": "cn=example,cn=com",
        "query_scope": "one", "page_size": 0, "alias_dereferencing": "default",
        "debug_level": None, "chase_referrals": None, "user_tree_dn": None,
        "user_filter": None, "user_objectclass": "inetOrgPerson", "user_id_attribute": "cn",
        "user_name_attribute": "sn", "user_mail_attribute": "mail",
        "user_description_attribute": "description", "user_pass_attribute": "userPassword",
        "user_enabled_attribute": "enabled", "user_enabled_invert": False,
        "user_enabled_mask": 0, "user_enabled_default": "True",
        "user_attribute_ignore": ["default_project_id"],
        "user_default_project_id_attribute": None, "user_enabled_emulation": False,
        "user_enabled_emulation_dn": None, "user_enabled_emulation_use_group_config": False,
        "user_additional_attribute_mapping": [], "group_tree_dn": None, "group_filter": None,
        "group_objectclass": "groupOfNames", "group_id_attribute": "cn",
        "group_name_attribute": "ou", "group_members_are_ids": False,
        "group_member_attribute": "member", "group_desc_attribute": "description",
        "group_attribute_ignore": [], "group_additional_attribute_mapping": [],
        "tls_cacertfile": None, "tls_cacertdir": None, "use_tls": False,
        "tls_req_cert": "demand", "use_pool": True, "pool_size": 10, "pool_retry_max": 3,
        "pool_retry_delay": 0.1, "pool_connection_timeout": -1,
        "pool_connection_lifetime": 600, "use_auth_pool": True, "auth_pool_size": 100,
        "auth_pool_connection_lifetime": 60,
    },
}
SENSITIVE: dict[str, tuple[str, ...]] = {"identity": (), "ldap": ("password",)}
# The identity drivers ownstack has; a domain naming another is stored, not obeyed.
AVAILABLE_DRIVERS = ("sql",)

Config = dict[str, dict[str, Any]]


class InvalidDomainConfig(Forbidden):
    """Keystone answers an unsupported group or option with 403, not 400."""

    code = "identity.invalid_domain_config"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid domain specific configuration: {reason}.")


class DomainConfigNotFound(NotFound):
    code = "identity.domain_config_not_found"

    def __init__(self, domain_id: str, what: str) -> None:
        super().__init__(f"Could not find {what} in domain configuration for domain "
                         f"{domain_id}.")


def _what(group: str | None, option: str | None) -> str:
    if option:
        return f"option {option} in group {group}"
    return f"group {group}" if group else "any options"


def check_group_and_option(group: str | None, option: str | None = None) -> None:
    if group is None:
        return
    if group not in DEFAULTS:
        raise InvalidDomainConfig(f"Group {group} is not supported for domain specific "
                                  "configurations")
    if option is not None and option not in DEFAULTS[group] and \
            option not in SENSITIVE[group]:
        raise InvalidDomainConfig(f"Option {option} in group {group} is not supported for "
                                  "domain specific configurations")


def check_config(config: Mapping[str, Any]) -> None:
    if not config:
        raise InvalidDomainConfig("No options specified")
    for group, options in config.items():
        if not options or not isinstance(options, dict):
            raise InvalidDomainConfig(f"The value of group {group} specified in the config "
                                      "should be a dictionary of options")
        for option in options:
            check_group_and_option(group, option)


def default(group: str | None = None, option: str | None = None) -> dict[str, Any]:
    """Keystone's defaults: all groups, one group, or one option (never a sensitive one)."""
    check_group_and_option(group, option)
    if group is None:
        return {g: dict(opts) for g, opts in DEFAULTS.items()}
    if option is None:
        return {group: dict(DEFAULTS[group])}
    if option not in DEFAULTS[group]:
        raise InvalidDomainConfig(f"Reading the default for option {option} in group "
                                  f"{group} is not supported")
    return {option: DEFAULTS[group][option]}


async def _rows(db: AsyncSession, domain_id: str, group: str | None = None,
                option: str | None = None, *, sensitive: bool | None = False
                ) -> Sequence[DomainConfigOption]:
    query = select(DomainConfigOption).where(DomainConfigOption.domain_id == domain_id)
    if group is not None:
        query = query.where(DomainConfigOption.group == group)
    if option is not None:
        query = query.where(DomainConfigOption.option == option)
    if sensitive is not None:
        query = query.where(DomainConfigOption.sensitive == sensitive)
    return (await db.scalars(query.order_by(DomainConfigOption.group,
                                            DomainConfigOption.option))).all()


def _as_config(rows: Sequence[DomainConfigOption]) -> Config:
    config: Config = {}
    for row in rows:
        config.setdefault(row.group, {})[row.option] = row.value
    return config


async def get(db: AsyncSession, domain_id: str, group: str | None = None,
              option: str | None = None) -> dict[str, Any]:
    """The domain's shown (non-sensitive) options, all, of a group, or one."""
    check_group_and_option(group, option)
    rows = await _rows(db, domain_id, group, option)
    if not rows:
        raise DomainConfigNotFound(domain_id, _what(group, option))
    if option is not None:
        return {option: rows[0].value}
    return _as_config(rows)


async def exists(db: AsyncSession, domain_id: str) -> bool:
    return bool(await _rows(db, domain_id, sensitive=None))


def _warn_unobeyed(domain_id: str, config: Mapping[str, Any]) -> None:
    driver = config.get("identity", {}).get("driver")
    if driver is not None and driver not in AVAILABLE_DRIVERS:
        log.warning("domain %s: identity driver %r is stored but not in effect; ownstack "
                    "keeps the domain's users and groups in SQL", domain_id, driver)


async def _put(db: AsyncSession, domain_id: str, config: Mapping[str, Mapping[str, Any]]
               ) -> None:
    for group, options in config.items():
        for option, value in options.items():
            row = await db.get(DomainConfigOption, (domain_id, group, option))
            if row is None:
                db.add(DomainConfigOption(domain_id=domain_id, group=group, option=option,
                                          value=value, sensitive=option in SENSITIVE[group]))
            else:
                row.value = value
    await db.flush()
    _warn_unobeyed(domain_id, config)


async def create(db: AsyncSession, domain_id: str, config: Mapping[str, Any]) -> Config:
    """Replace the domain's whole configuration with ``config``."""
    check_config(config)
    await db.execute(delete(DomainConfigOption)
                     .where(DomainConfigOption.domain_id == domain_id))
    await _put(db, domain_id, config)
    return _as_config(await _rows(db, domain_id))


async def update(db: AsyncSession, domain_id: str, config: Mapping[str, Any],
                 group: str | None = None, option: str | None = None) -> Config:
    """Merge ``config`` into the domain's; through a group or option URL the body must
    name that group (or option) alone, and it must already be set."""
    if group is not None and option is not None:
        # The option URL takes ``{"config": {option: value}}``.
        config = {group: config}
    check_config(config)
    check_group_and_option(group, option)
    if group is not None:
        if len(config) != 1 or (option is not None and len(config[group]) != 1):
            if option is not None:
                raise InvalidDomainConfig(f"Trying to update option {option} in group "
                                          f"{group}, so that, and only that, option must be "
                                          "specified  in the config")
            raise InvalidDomainConfig(f"Trying to update group {group}, so that, and only "
                                      "that, group must be specified in the config")
        if group not in config:
            raise InvalidDomainConfig(f"request to update group {group}, but config "
                                      f"provided contains group {next(iter(config))} "
                                      "instead")
        if option is not None and option not in config[group]:
            raise InvalidDomainConfig(f"Trying to update option {option} in group {group}, "
                                      "but config provided contains option "
                                      f"{next(iter(config[group]))} instead")
        if not await _rows(db, domain_id, group, option, sensitive=None):
            raise DomainConfigNotFound(domain_id, _what(group, option))
    await _put(db, domain_id, config)
    return await get(db, domain_id)


async def remove(db: AsyncSession, domain_id: str, group: str | None = None,
                 option: str | None = None) -> None:
    """Delete the whole configuration, a group of it, or one option."""
    check_group_and_option(group, option)
    if group is not None and not await _rows(db, domain_id, group, option, sensitive=None):
        raise DomainConfigNotFound(domain_id, _what(group, option))
    query = delete(DomainConfigOption).where(DomainConfigOption.domain_id == domain_id)
    if group is not None:
        query = query.where(DomainConfigOption.group == group)
    if option is not None:
        query = query.where(DomainConfigOption.option == option)
    await db.execute(query)


async def forget_domain(db: AsyncSession, domain_id: str) -> None:
    await db.execute(delete(DomainConfigOption)
                     .where(DomainConfigOption.domain_id == domain_id))
