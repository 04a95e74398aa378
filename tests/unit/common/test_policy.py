from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ownstack.common.errors import PolicyNotAuthorized
from ownstack.common.policy import Policy, PolicyParseError

ADMIN = {"roles": ["admin", "member"], "user_id": "u1", "project_id": "p1"}
MEMBER = {"roles": ["Member"], "user_id": "u2", "project_id": "p1"}
NOBODY: dict[str, Any] = {"roles": [], "user_id": "u3", "project_id": "p2"}


def allowed(check_str: str, creds: dict[str, Any], target: dict[str, Any] | None = None) -> bool:
    return Policy({"r": check_str}).check("r", target or {}, creds)


@pytest.mark.parametrize("check_str", ["@", "", "   "])
def test_always(check_str: str) -> None:
    assert allowed(check_str, NOBODY)


def test_never() -> None:
    assert not allowed("!", ADMIN)


def test_role_is_case_insensitive_membership() -> None:
    assert allowed("role:member", MEMBER)
    assert allowed("role:ADMIN", ADMIN)
    assert not allowed("role:admin", MEMBER)


def test_role_without_a_roles_list_is_denied() -> None:
    assert not allowed("role:admin", {})
    # A string is not a list of roles: "a" must not match the letters of "admin".
    assert not allowed("role:a", {"roles": "admin"})


def test_role_from_target() -> None:
    assert allowed("role:%(role.name)s", MEMBER, {"role.name": "member"})
    assert not allowed("role:%(role.name)s", MEMBER, {})


def test_rule_reference() -> None:
    policy = Policy({"admin_required": "role:admin", "delete": "rule:admin_required"})
    assert policy.check("delete", {}, ADMIN)
    assert not policy.check("delete", {}, MEMBER)


def test_unknown_rule_reference_is_false() -> None:
    assert not allowed("rule:nope", ADMIN)
    assert allowed("rule:nope or role:admin", ADMIN)


def test_recursion_loop_is_false_not_an_error() -> None:
    policy = Policy(
        {
            "self": "rule:self",
            "a": "rule:b",
            "b": "rule:a or role:admin",
            "c": "rule:c or @",
        }
    )
    assert not policy.check("self", {}, ADMIN)
    assert not policy.check("a", {}, MEMBER)
    assert policy.check("a", {}, ADMIN)
    assert policy.check("c", {}, NOBODY)


def test_shared_rule_used_twice_is_not_mistaken_for_a_loop() -> None:
    policy = Policy({"base": "role:admin", "left": "rule:base", "both": "rule:left and rule:base"})
    assert policy.check("both", {}, ADMIN)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ({"project_id": "p1"}, True),
        ({"project_id": "p2"}, False),
        ({"target.project.id": "p1"}, True),
        ({"target": {"project": {"id": "p1"}}}, True),
        ({"target": {"project.id": "p1"}}, True),
        ({"target.project": {"id": "p1"}}, True),
        ({"target": {"project": {"id": "p2"}}}, False),
        ({}, False),
        ({"target": {"project": None}}, False),
    ],
)
def test_target_value_flat_or_nested(target: dict[str, Any], expected: bool) -> None:
    key = "project_id" if "project_id" in target else "target.project.id"
    assert allowed(f"project_id:%({key})s", MEMBER, target) is expected


def test_target_value_is_compared_as_a_string() -> None:
    assert allowed("user_id:%(owner)s", {"user_id": 42}, {"owner": "42"})
    assert allowed("user_id:%(owner)s", {"user_id": "42"}, {"owner": 42})


def test_target_value_inside_text() -> None:
    assert allowed("name:vm-%(id)s", {"name": "vm-7"}, {"id": 7})
    assert allowed("name:50%%", {"name": "50%"})


def test_missing_credential_is_false() -> None:
    assert not allowed("project_id:%(project_id)s", {"roles": []}, {"project_id": "p1"})


def test_credential_list_matches_any_element() -> None:
    assert allowed("groups:ops", {"groups": ["dev", "ops"]})
    assert not allowed("groups:qa", {"groups": ["dev", "ops"]})


def test_dotted_credential_path() -> None:
    assert allowed("token.scope:all", {"token": {"scope": "all"}})


def test_plain_literal() -> None:
    assert allowed("system_scope:all", {"system_scope": "all"})
    assert not allowed("system_scope:all", {"system_scope": "project"})
    assert not allowed("system_scope:all", {})


def test_quoted_literal() -> None:
    assert allowed("name:'a b'", {"name": "a b"})
    assert allowed('name:"x:y"', {"name": "x:y"})
    # Quoting disables %(...)s: the text is taken as it stands.
    assert allowed("name:'%(id)s'", {"name": "%(id)s"}, {"id": "1"})


@pytest.mark.parametrize(
    ("check_str", "value", "expected"),
    [
        ("is_admin:True", True, True),
        ("is_admin:True", False, False),
        ("is_admin:False", False, True),
        ("is_admin:True", "True", True),
        ("domain_id:None", None, True),
        ("domain_id:None", "d1", False),
    ],
)
def test_bool_and_none_literals(check_str: str, value: Any, expected: bool) -> None:
    creds = {check_str.split(":")[0]: value}
    assert allowed(check_str, creds) is expected


def test_literal_on_the_left_as_oslo_allows() -> None:
    assert allowed("'member':%(role.name)s", NOBODY, {"role.name": "member"})
    assert not allowed("'member':%(role.name)s", NOBODY, {"role.name": "admin"})
    assert allowed("True:%(enabled)s", NOBODY, {"enabled": True})


def test_not_and_or() -> None:
    assert allowed("not role:admin", MEMBER)
    assert not allowed("not role:admin", ADMIN)
    assert allowed("role:admin and user_id:u1", ADMIN)
    assert not allowed("role:admin and user_id:u2", ADMIN)
    assert allowed("role:reader or role:member", MEMBER)
    assert not allowed("role:reader or role:admin", MEMBER)


def test_keywords_are_case_insensitive() -> None:
    assert allowed("NOT role:admin AND role:member", MEMBER)


def test_and_binds_tighter_than_or() -> None:
    # a or (b and c): true for someone with only a; (a or b) and c would be false.
    assert allowed("role:a or role:b and role:c", {"roles": ["a"]})
    assert not allowed("(role:a or role:b) and role:c", {"roles": ["a"]})
    # (a and b) or c: true for someone with only c.
    assert allowed("role:a and role:b or role:c", {"roles": ["c"]})


def test_not_binds_tighter_than_and() -> None:
    # (not a) and b: false for someone with only a; not (a and b) would be true.
    assert not allowed("not role:a and role:b", {"roles": ["a"]})
    assert allowed("not (role:a and role:b)", {"roles": ["a"]})
    assert allowed("not not role:a", {"roles": ["a"]})


def test_parentheses_nest_and_may_touch_checks() -> None:
    check_str = "((role:admin) or (project_id:%(project_id)s and not role:reader))"
    assert allowed(check_str, ADMIN, {"project_id": "other"})
    assert allowed(check_str, MEMBER, {"project_id": "p1"})
    assert not allowed(check_str, {"roles": ["reader"], "project_id": "p1"}, {"project_id": "p1"})


def test_realistic_keystone_style_rules() -> None:
    policy = Policy(
        {
            "admin_required": "role:admin",
            "owner": "user_id:%(target.user.id)s",
            "identity:get_user": "rule:admin_required or rule:owner",
            "identity:list_users": "(role:reader and system_scope:all) or rule:admin_required",
        }
    )
    target = {"target": {"user": {"id": "u2"}}}
    assert policy.check("identity:get_user", target, MEMBER)
    assert not policy.check("identity:get_user", target, {**MEMBER, "user_id": "u9"})
    assert policy.check("identity:list_users", {}, {"roles": ["reader"], "system_scope": "all"})
    assert not policy.check("identity:list_users", {}, {"roles": ["reader"]})


def test_unknown_rule_name_raises_key_error() -> None:
    with pytest.raises(KeyError):
        Policy({"a": "@"}).check("b", {}, ADMIN)


def test_enforce_raises_policy_not_authorized_with_403() -> None:
    policy = Policy({"compute:delete": "role:admin"})
    policy.enforce("compute:delete", {}, ADMIN)
    with pytest.raises(PolicyNotAuthorized) as caught:
        policy.enforce("compute:delete", {}, MEMBER)
    assert caught.value.status == 403
    assert caught.value.rule == "compute:delete"
    assert "compute:delete" in caught.value.message


def test_overrides_replace_and_add_rules() -> None:
    policy = Policy({"a": "role:admin", "b": "@"}, {"a": "rule:custom", "custom": "role:member"})
    assert policy.rules() == {"a": "rule:custom", "b": "@", "custom": "role:member"}
    assert policy.check("a", {}, MEMBER)
    assert not policy.check("a", {}, NOBODY)


def test_rules_returns_a_copy() -> None:
    policy = Policy({"a": "@"})
    policy.rules()["a"] = "!"
    assert policy.rules() == {"a": "@"}


@pytest.mark.parametrize(
    "check_str",
    [
        "role:admin and",
        "or role:admin",
        "role:admin role:member",
        "(role:admin",
        "role:admin)",
        "()",
        "not",
        "admin",
        "role:",
        ":admin",
        "name:'unterminated",
        "project_id:%(project_id)d",
        "project_id:%()s",
        "http:https://example.com/check",
    ],
)
def test_bad_syntax_raises_naming_the_rule(check_str: str) -> None:
    with pytest.raises(PolicyParseError) as caught:
        Policy({"good": "@", "compute:broken": check_str})
    assert "compute:broken" in str(caught.value)


def test_parse_error_is_a_value_error() -> None:
    assert issubclass(PolicyParseError, ValueError)


def test_non_string_check_is_a_parse_error() -> None:
    with pytest.raises(PolicyParseError, match="'a'"):
        Policy({"a": ["role:admin"]})  # type: ignore[dict-item]


DEFAULTS = {"admin_required": "role:admin", "compute:delete": "rule:admin_required"}


def test_load_without_a_file_uses_defaults() -> None:
    assert Policy.load(DEFAULTS, None).rules() == DEFAULTS


def test_load_yaml_overrides(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        '# operators may comment their overrides\n"compute:delete": "role:member"\n',
        encoding="utf-8",
    )
    policy = Policy.load(DEFAULTS, path)
    assert policy.check("compute:delete", {}, MEMBER)
    assert policy.rules()["admin_required"] == "role:admin"


def test_load_json_overrides(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"compute:delete": "!"}), encoding="utf-8")
    assert not Policy.load(DEFAULTS, path).check("compute:delete", {}, ADMIN)


def test_load_empty_file_overrides_nothing(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("", encoding="utf-8")
    assert Policy.load(DEFAULTS, path).rules() == DEFAULTS


def test_load_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(PolicyParseError, match="does not exist") as caught:
        Policy.load(DEFAULTS, path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("policy.yaml", "a: [unclosed", "not valid YAML"),
        ("policy.json", "{'a': 1}", "not valid JSON"),
        ("policy.yaml", "- role:admin\n", "must map rule names"),
        ("policy.yaml", "compute:delete: 3\n", "'compute:delete' must map to a check string"),
    ],
)
def test_load_bad_file(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PolicyParseError, match=message):
        Policy.load(DEFAULTS, path)


def test_load_bad_rule_in_file_names_file_and_rule(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text('"compute:delete": "role:admin or"\n', encoding="utf-8")
    with pytest.raises(PolicyParseError) as caught:
        Policy.load(DEFAULTS, path)
    assert str(path) in str(caught.value)
    assert "compute:delete" in str(caught.value)


class _Counting:
    """A compiled check that counts its walks (for the kept answers' tests)."""

    def __init__(self, check: Any) -> None:
        self.check, self.walks = check, 0

    def __call__(self, ev: Any) -> bool:
        self.walks += 1
        return bool(self.check(ev))


def _counting(policy: Policy, rule: str) -> _Counting:
    counting = _Counting(policy._compiled[rule])
    policy._compiled[rule] = counting     # type: ignore[assignment]
    return counting


def test_a_rule_reading_only_credentials_is_walked_once_per_credentials() -> None:
    policy = Policy({"admin_only": "role:admin", "attr": "rule:admin_only or role:service"})
    attr = _counting(policy, "attr")
    for _ in range(3):
        assert policy.check("attr", {}, ADMIN)
        assert not policy.check("attr", {"project_id": "p1"}, MEMBER)
        assert policy.check("attr", {}, {**MEMBER, "roles": ["service"]})
    assert attr.walks == 3
    # Other credentials with the same roles: the same answer, no walk.
    assert policy.check("attr", {}, {**ADMIN, "user_id": "other", "project_id": "p9"})
    assert attr.walks == 3


@pytest.mark.parametrize("rules", [
    {"r": "project_id:%(project_id)s"},
    {"r": "rule:owner or role:admin", "owner": "project_id:%(project_id)s"},
    {"r": "role:%(role)s"},
    {"r": "not 'p1':%(project_id)s"},
])
def test_a_rule_reading_the_target_is_walked_for_every_target(rules: dict[str, str]) -> None:
    policy = Policy(rules)
    counting = _counting(policy, "r")
    member = {**MEMBER, "roles": ["member"]}
    targets = [{"project_id": "p1", "role": "member"}, {"project_id": "p2", "role": "reader"}]
    answers = [policy.check("r", target, member) for target in targets * 2]
    assert answers[0] != answers[1] and answers[:2] == answers[2:]
    assert counting.walks == 4
    assert not policy._answers


@pytest.mark.parametrize("rule, creds", [
    ("is_admin:True", [{"is_admin": True}, {"is_admin": "True"}, {"is_admin": 1},
                       {"is_admin": [1]}, {"is_admin": ["True"]}, {}]),
    ("role:a", [{"roles": "admin"}, {"roles": ["a"]}, {"roles": ("A",)}, {"roles": {"a"}},
                {"roles": ["admin"]}, {"roles": None}]),
    ("user.id:u1", [{"user": {"id": "u1"}}, {"user.id": "u1"}, {"user": {"id": "u2"}}]),
])
def test_a_kept_answer_is_the_one_a_walk_gives(rule: str, creds: list[dict[str, Any]]
                                               ) -> None:
    policy = Policy({"r": rule})
    for _ in range(2):
        for one in creds:
            assert policy.check("r", {}, one) == Policy({"r": rule})._compiled["r"](
                _evaluation(policy, one)), one


def _evaluation(policy: Policy, creds: dict[str, Any]) -> Any:
    from ownstack.common.policy import _Evaluation
    return _Evaluation({}, creds, policy._compiled, frozenset({"r"}))


def test_a_changed_policy_file_gives_new_answers(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("r: role:admin\n")
    assert not Policy.load({"r": "@"}, path).check("r", {}, MEMBER)
    path.write_text("r: role:member\n")
    # The service loads its policy when it starts: a new policy keeps no old answer.
    assert Policy.load({"r": "@"}, path).check("r", {}, MEMBER)


def test_kept_answers_are_bounded() -> None:
    policy = Policy({"r": "user_id:u1"})
    for i in range(5000):
        policy.check("r", {}, {"user_id": f"u{i}"})
    assert 0 < len(policy._answers) <= 4096
    assert policy.check("r", {}, {"user_id": "u1"})
