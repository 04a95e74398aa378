from datetime import UTC, datetime, timedelta

from ownstack.identity.objects.revocation import RevocationList, TokenFacts, _Event

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def event(**fields: object) -> _Event:
    base: dict[str, object] = dict(user_id=None, project_id=None, domain_id=None,
                                   audit_id=None, audit_chain_id=None, app_cred_id=None,
                                   issued_before=T0)
    base.update(fields)
    return _Event(**base)  # type: ignore[arg-type]


def token(**fields: object) -> TokenFacts:
    base: dict[str, object] = dict(user_id="u1", issued_at=T0 - timedelta(seconds=1),
                                   audit_ids=("a1", "parent"), project_id="p1",
                                   user_domain_id="default", domain_id="default")
    base.update(fields)
    return TokenFacts(**base)  # type: ignore[arg-type]


def test_user_event_revokes_older_tokens_only() -> None:
    revoked = RevocationList([event(user_id="u1")])
    assert revoked.is_revoked(token())
    assert not revoked.is_revoked(token(issued_at=T0 + timedelta(microseconds=1)))
    assert not revoked.is_revoked(token(user_id="u2"))


def test_all_fields_must_match() -> None:
    revoked = RevocationList([event(user_id="u1", project_id="p1")])
    assert revoked.is_revoked(token())
    assert not revoked.is_revoked(token(project_id="p2"))


def test_audit_id_and_chain() -> None:
    assert RevocationList([event(audit_id="a1")]).is_revoked(token())
    assert not RevocationList([event(audit_id="parent")]).is_revoked(token())
    assert RevocationList([event(audit_chain_id="parent")]).is_revoked(token())


def test_domain_event_matches_scope_or_user_domain() -> None:
    assert RevocationList([event(domain_id="default")]).is_revoked(token(domain_id="d2"))
    assert not RevocationList([event(domain_id="d3")]).is_revoked(token(domain_id="d2"))


def test_app_cred_event() -> None:
    revoked = RevocationList([event(app_cred_id="c1")])
    assert revoked.is_revoked(token(app_cred_id="c1"))
    assert not revoked.is_revoked(token())
