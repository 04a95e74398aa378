"""Identity tables. Every table is prefixed ``identity_``: services share one database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ownstack.common.db.base import Base, UTCDateTime, new_id, utcnow

ID = String(64)


class Domain(Base):
    __tablename__ = "identity_domain"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Project(Base):
    __tablename__ = "identity_project"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    domain_id: Mapped[str] = mapped_column(ID, ForeignKey("identity_domain.id"), index=True)
    parent_id: Mapped[str | None] = mapped_column(ID, ForeignKey("identity_project.id"))
    description: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ProjectTag(Base):
    __tablename__ = "identity_project_tag"
    project_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_project.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)


class User(Base):
    __tablename__ = "identity_user"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    domain_id: Mapped[str] = mapped_column(ID, ForeignKey("identity_domain.id"), index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    default_project_id: Mapped[str | None] = mapped_column(ID)
    description: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(String(255))
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    failed_auth_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_auth_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_active_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Options such as ignore_lockout_failure_attempts and ignore_password_expiry.
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Password(Base):
    """Every password a user has had, newest last: the history that uniqueness checks."""

    __tablename__ = "identity_password"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_user.id", ondelete="CASCADE"), index=True)
    hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    self_service: Mapped[bool] = mapped_column(Boolean, default=False)


class Group(Base):
    __tablename__ = "identity_group"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    domain_id: Mapped[str] = mapped_column(ID, ForeignKey("identity_domain.id"), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class GroupMembership(Base):
    __tablename__ = "identity_group_membership"
    user_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_user.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_group.id", ondelete="CASCADE"), primary_key=True, index=True)


class Role(Base):
    __tablename__ = "identity_role"
    __table_args__ = (UniqueConstraint("name", "domain_id"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    # Empty string for global roles: NULL would defeat the unique constraint.
    domain_id: Mapped[str] = mapped_column(ID, default="")
    description: Mapped[str | None] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ImpliedRole(Base):
    __tablename__ = "identity_implied_role"
    prior_role_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_role.id", ondelete="CASCADE"), primary_key=True)
    implied_role_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_role.id", ondelete="CASCADE"), primary_key=True)


class Assignment(Base):
    """A role granted to a user or group on a project, a domain or the system.

    ``type`` is one of UserProject, GroupProject, UserDomain, GroupDomain, UserSystem,
    GroupSystem (Keystone's names); ``target_id`` is "system" ("all") for system grants.
    """

    __tablename__ = "identity_assignment"
    type: Mapped[str] = mapped_column(String(16), primary_key=True)
    actor_id: Mapped[str] = mapped_column(ID, primary_key=True, index=True)
    target_id: Mapped[str] = mapped_column(ID, primary_key=True, index=True)
    role_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_role.id", ondelete="CASCADE"), primary_key=True)
    inherited: Mapped[bool] = mapped_column(Boolean, primary_key=True, default=False)


class Region(Base):
    __tablename__ = "identity_region"
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    parent_region_id: Mapped[str | None] = mapped_column(String(255))
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Service(Base):
    __tablename__ = "identity_service"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    type: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Endpoint(Base):
    __tablename__ = "identity_endpoint"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    service_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_service.id", ondelete="CASCADE"), index=True)
    interface: Mapped[str] = mapped_column(String(8))
    url: Mapped[str] = mapped_column(Text)
    region_id: Mapped[str | None] = mapped_column(String(255))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ApplicationCredential(Base):
    __tablename__ = "identity_application_credential"
    __table_args__ = (UniqueConstraint("user_id", "name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_user.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str | None] = mapped_column(ID)
    system: Mapped[str | None] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unrestricted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApplicationCredentialRole(Base):
    __tablename__ = "identity_application_credential_role"
    application_credential_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_application_credential.id", ondelete="CASCADE"),
        primary_key=True)
    role_id: Mapped[str] = mapped_column(ID, primary_key=True)


class AccessRule(Base):
    """What a token from an application credential may call: one ``method`` on the
    ``path`` pattern of the service of type ``service``. Rules belong to a user and are
    shared by that user's credentials that name the same triple."""

    __tablename__ = "identity_access_rule"
    __table_args__ = (UniqueConstraint("user_id", "service", "path", "method"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_user.id", ondelete="CASCADE"), index=True)
    service: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(225))
    method: Mapped[str] = mapped_column(String(16))


class ApplicationCredentialAccessRule(Base):
    """A credential's access rule; a rule still named here cannot be deleted."""

    __tablename__ = "identity_application_credential_access_rule"
    application_credential_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_application_credential.id", ondelete="CASCADE"),
        primary_key=True)
    access_rule_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_access_rule.id"), primary_key=True, index=True)


class DomainConfigOption(Base):
    """One option of a domain's specific configuration (Keystone's ``whitelisted_config``
    and ``sensitive_config``); ``sensitive`` ones are stored but never shown."""

    __tablename__ = "identity_domain_config"
    domain_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_domain.id", ondelete="CASCADE"), primary_key=True)
    group: Mapped[str] = mapped_column(String(16), primary_key=True)
    option: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)


class EndpointGroup(Base):
    """Keystone's OS-EP-FILTER endpoint group: the endpoints whose ``service_id``,
    ``region_id`` and ``interface`` equal its ``filters``."""

    __tablename__ = "identity_endpoint_group"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ProjectEndpointGroup(Base):
    """An endpoint group associated with a project: its endpoints are in the project's
    catalog (and, once a project has any association, only those are)."""

    __tablename__ = "identity_project_endpoint_group"
    endpoint_group_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_endpoint_group.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[str] = mapped_column(ID, primary_key=True, index=True)


class ProjectEndpoint(Base):
    """An endpoint associated with a project directly (OS-EP-FILTER)."""

    __tablename__ = "identity_project_endpoint"
    endpoint_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_endpoint.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[str] = mapped_column(ID, primary_key=True, index=True)


class Credential(Base):
    """A secret a user keeps with Keystone (an EC2 key pair, a certificate, a TOTP seed).

    The blob is stored only encrypted, with the credential keys (decision 66);
    ``key_hash`` names the key that encrypted it. There is no foreign key to the user or
    project: as in Keystone, :mod:`.cleanup` deletes a user's and a project's credentials.
    """

    __tablename__ = "identity_credential"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ID, index=True)
    project_id: Mapped[str | None] = mapped_column(ID, index=True)
    type: Mapped[str] = mapped_column(String(255))
    encrypted_blob: Mapped[str] = mapped_column(Text)
    key_hash: Mapped[str] = mapped_column(String(64))
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Policy(Base):
    """Keystone's deprecated policy store: an opaque blob of a MIME ``type``; nothing
    enforces it."""

    __tablename__ = "identity_policy"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    type: Mapped[str] = mapped_column(String(255))
    blob: Mapped[str] = mapped_column(Text)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class OAuthConsumer(Base):
    """An OAuth1 consumer (OS-OAUTH1): an application that users may delegate roles on a
    project to. Its secret signs its requests (HMAC), so it is kept, encrypted with the
    credential keys, not hashed."""

    __tablename__ = "identity_oauth1_consumer"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    description: Mapped[str | None] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(Text)
    key_hash: Mapped[str] = mapped_column(String(64))
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class OAuthRequestToken(Base):
    """A consumer's request for roles on a project, authorized (``authorizing_user_id``,
    ``verifier``, ``role_ids``) by a user who holds them, then exchanged once for an access
    token. Its secret is encrypted as the consumer's."""

    __tablename__ = "identity_oauth1_request_token"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    consumer_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_oauth1_consumer.id", ondelete="CASCADE"), index=True)
    secret: Mapped[str] = mapped_column(Text)
    key_hash: Mapped[str] = mapped_column(String(64))
    project_id: Mapped[str] = mapped_column(ID, index=True)
    authorizing_user_id: Mapped[str | None] = mapped_column(ID, index=True)
    verifier: Mapped[str | None] = mapped_column(String(64))
    role_ids: Mapped[list[str] | None] = mapped_column(JSON)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OAuthAccessToken(Base):
    """What a consumer signs its token requests with: the roles ``role_ids`` of user
    ``user_id`` on ``project_id``, delegated to the consumer until ``expires_at``."""

    __tablename__ = "identity_oauth1_access_token"
    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    consumer_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_oauth1_consumer.id", ondelete="CASCADE"), index=True)
    secret: Mapped[str] = mapped_column(Text)
    key_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(
        ID, ForeignKey("identity_user.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(ID, index=True)
    role_ids: Mapped[list[str]] = mapped_column(JSON)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OAuthNonce(Base):
    """A nonce a consumer signed with, kept while its timestamp is acceptable, so that a
    signed request is accepted once (RFC 5849, section 3.3)."""

    __tablename__ = "identity_oauth1_nonce"
    consumer_id: Mapped[str] = mapped_column(ID, primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class RevocationEvent(Base):
    """A token matching every non-null field, issued before ``issued_before``, is revoked."""

    __tablename__ = "identity_revocation_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str | None] = mapped_column(ID, index=True)
    project_id: Mapped[str | None] = mapped_column(ID)
    domain_id: Mapped[str | None] = mapped_column(ID)
    audit_id: Mapped[str | None] = mapped_column(String(32), index=True)
    audit_chain_id: Mapped[str | None] = mapped_column(String(32))
    app_cred_id: Mapped[str | None] = mapped_column(ID)
    issued_before: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Revision(Base):
    """One row whose counter moves on every identity write.

    Caches of validated tokens key on it, so any change that could affect a token
    (roles, users, projects, revocations) is seen by every API process.
    """

    __tablename__ = "identity_revision"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
