"""An oslo.policy-compatible rule engine.

Rules are check strings in oslo.policy's syntax, for example
``"role:admin or project_id:%(target.project.id)s"``. Every rule is compiled once, when the
:class:`Policy` is built, into a tree of small check objects; :meth:`Policy.check` runs on every
API request and only walks that tree.

We do not depend on oslo.policy itself because it pulls in oslo.config and its friends.

Supported syntax: ``@`` and the empty string (always), ``!`` (never), ``role:NAME``,
``rule:NAME``, ``KEY:VALUE`` (a credential equals a literal or ``%(path)s`` from the target),
``not``, ``and``, ``or`` (``not`` binds tightest, then ``and``, then ``or``) and parentheses.
oslo's remote ``http:`` checks are rejected rather than silently never matching.

A rule that reads nothing of the target (``rule:admin_only``, ``role:reader``, as most
attribute rules are) has one answer for given credentials: :meth:`Policy.check` keeps it,
keyed by the rule and the values of the credentials it reads (:func:`_credential_reads`),
so the next check of that rule with the same roles (or project, ...) walks no tree. A rule
that reads a ``%(...)s`` of the target is walked every time.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from ownstack.common.errors import PolicyNotAuthorized

__all__ = ["Policy", "PolicyParseError"]


class PolicyParseError(ValueError):
    """A check string or policy file that cannot be compiled."""


class _Invalid(Exception):
    """A syntax problem inside one check string; Policy adds the rule's name."""


# Distinct from None, because a credential or target value may legitimately be None.
_MISSING: Final = object()

_KEYWORDS: Final = frozenset({"and", "or", "not"})
_QUOTES: Final = ("'", '"')
_LITERAL_KINDS: Final = frozenset({"True", "False", "None"})


class _Path:
    """A dotted path into a mapping, tried as one flat key first and then as nested keys.

    oslo expects flat targets (``{"target.project.id": ...}``) while our own handlers find
    nested dicts more natural (``{"target": {"project": {"id": ...}}}``); both must work. Every
    way of splitting the path is computed here so a lookup does no string work.
    """

    __slots__ = ("key", "splits")

    def __init__(self, key: str) -> None:
        self.key = key
        parts = key.split(".")
        # Longest prefix first, so {"a.b": {"c": 1}} wins over {"a": {"b.c": 2}}.
        self.splits: tuple[tuple[str, _Path], ...] = tuple(
            (".".join(parts[:i]), _path(".".join(parts[i:]))) for i in range(len(parts) - 1, 0, -1)
        )

    def get(self, obj: Any) -> Any:
        """The value at this path in ``obj``, or ``_MISSING``."""
        # dict first: the ABC check for Mapping costs more than the lookup itself.
        if not isinstance(obj, dict | Mapping):
            return _MISSING
        value = obj.get(self.key, _MISSING)
        if value is not _MISSING:
            return value
        for prefix, rest in self.splits:
            inner = obj.get(prefix, _MISSING)
            if inner is not _MISSING:
                value = rest.get(inner)
                if value is not _MISSING:
                    return value
        return _MISSING

    def __repr__(self) -> str:
        return f"_Path({self.key!r})"


@functools.cache
def _path(key: str) -> _Path:
    return _Path(key)


_PLACEHOLDER: Final = re.compile(r"%\(([^)]*)\)s|%%|%")


@dataclass(frozen=True, slots=True)
class _Template:
    """The value side of a check: literal text with ``%(path)s`` filled in from the target."""

    parts: tuple[str | _Path, ...]

    def render(self, target: Mapping[str, Any]) -> str | None:
        """The text with the target's values, or None when the target lacks one of them."""
        if len(self.parts) == 1 and isinstance(self.parts[0], str):
            return self.parts[0]
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = part.get(target)
            if value is _MISSING:
                return None
            out.append(str(value))
        return "".join(out)


def _literal(text: str) -> _Template:
    return _Template((text,))


def _compile_template(text: str) -> _Template:
    parts: list[str | _Path] = []
    literal: list[str] = []
    pos = 0
    for found in _PLACEHOLDER.finditer(text):
        literal.append(text[pos : found.start()])
        pos = found.end()
        if found[0] == "%%":
            literal.append("%")
        elif found[0] == "%":
            raise _Invalid("a bare '%' must be written '%%' or '%(name)s'")
        elif not found[1]:
            raise _Invalid("'%()s' names no target value")
        else:
            if any(literal):
                parts.append("".join(literal))
            literal = []
            parts.append(_path(found[1]))
    literal.append(text[pos:])
    if any(literal) or not parts:
        parts.append("".join(literal))
    return _Template(tuple(parts))


@dataclass(slots=True)  # not frozen: one is built per request and per rule reference
class _Evaluation:
    """One evaluation of a rule.

    ``active`` names the rules being evaluated on the current path, so that a loop of
    ``rule:`` references ends as False instead of overflowing the stack.
    """

    target: Mapping[str, Any]
    creds: Mapping[str, Any]
    rules: Mapping[str, _Check]
    active: frozenset[str]


class _Check:
    """A compiled check string."""

    __slots__ = ()

    def __call__(self, ev: _Evaluation) -> bool:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class _Always(_Check):
    def __call__(self, ev: _Evaluation) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class _Never(_Check):
    def __call__(self, ev: _Evaluation) -> bool:
        return False


_ALWAYS: Final = _Always()
_NEVER: Final = _Never()


@dataclass(frozen=True, slots=True)
class _Not(_Check):
    check: _Check

    def __call__(self, ev: _Evaluation) -> bool:
        return not self.check(ev)


@dataclass(frozen=True, slots=True)
class _And(_Check):
    checks: tuple[_Check, ...]

    def __call__(self, ev: _Evaluation) -> bool:
        return all(check(ev) for check in self.checks)


@dataclass(frozen=True, slots=True)
class _Or(_Check):
    checks: tuple[_Check, ...]

    def __call__(self, ev: _Evaluation) -> bool:
        return any(check(ev) for check in self.checks)


@dataclass(frozen=True, slots=True)
class _RuleRef(_Check):
    name: str

    def __call__(self, ev: _Evaluation) -> bool:
        if self.name in ev.active:
            return False
        check = ev.rules.get(self.name)
        if check is None:
            return False
        return check(_Evaluation(ev.target, ev.creds, ev.rules, ev.active | {self.name}))


@dataclass(frozen=True, slots=True)
class _Role(_Check):
    role: _Template

    def __call__(self, ev: _Evaluation) -> bool:
        wanted = self.role.render(ev.target)
        roles = ev.creds.get("roles")
        # A bare string would otherwise match any single letter of a role name.
        if wanted is None or not isinstance(roles, list | tuple | set | frozenset):
            return False
        wanted = wanted.lower()
        return any(str(role).lower() == wanted for role in roles)


@dataclass(frozen=True, slots=True)
class _Match(_Check):
    """``KEY:VALUE``: a credential, or a literal as oslo allows on the left, equals VALUE.

    Values compare as strings, as in oslo, so ``is_admin:True`` matches ``True`` and ``"True"``.
    A credential that is a list matches when any element does.
    """

    left: _Path | str
    right: _Template

    def __call__(self, ev: _Evaluation) -> bool:
        expected = self.right.render(ev.target)
        if expected is None:
            return False
        if isinstance(self.left, str):
            return self.left == expected
        actual = self.left.get(ev.creds)
        if actual is _MISSING:
            return False
        if isinstance(actual, list | tuple):
            return any(str(item) == expected for item in actual)
        return str(actual) == expected


def _unquote(text: str) -> str | None:
    """The text inside matching quotes, or None when ``text`` is not quoted."""
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] == text[0]:
        return text[1:-1]
    return None


def _split_check(word: str) -> tuple[str, str]:
    if word[0] in _QUOTES:  # a quoted literal on the left may itself hold a colon
        end = word.find(word[0], 1)
        colon = end + 1 if end > 0 else -1
        if colon <= 0 or word[colon : colon + 1] != ":":
            raise _Invalid(f"{word!r} is not a check; expected KIND:VALUE")
    else:
        colon = word.find(":")
        if colon < 0:
            raise _Invalid(f"{word!r} is not a check; expected KIND:VALUE, '@' or '!'")
    kind, value = word[:colon], word[colon + 1 :]
    if not kind or not value:
        raise _Invalid(f"{word!r} is not a check; both sides of ':' must be given")
    return kind, value


def _compile_check(word: str) -> _Check:
    if word == "@":
        return _ALWAYS
    if word == "!":
        return _NEVER
    kind, value = _split_check(word)
    if kind == "rule":
        return _RuleRef(value)
    if kind == "role":
        return _Role(_compile_template(value))
    if kind in ("http", "https"):
        raise _Invalid(f"{word!r}: remote http checks are not supported")
    quoted_value = _unquote(value)
    right = _literal(quoted_value) if quoted_value is not None else _compile_template(value)
    quoted_kind = _unquote(kind)
    if quoted_kind is not None:
        return _Match(quoted_kind, right)
    if kind in _LITERAL_KINDS:
        return _Match(kind, right)
    return _Match(_path(kind), right)


# A word runs to the next space, except inside quotes; a lone quote is an error.
_TOKEN: Final = re.compile(r"""\s+|(?:'[^']*'|"[^"]*"|[^\s'"])+|(.)""")


def _tokenize(text: str) -> list[str]:
    """Split like oslo: on whitespace, with parentheses peeled off both ends of each word.

    Parentheses inside a word stay, so ``%(project_id)s`` survives.
    """
    tokens: list[str] = []
    for found in _TOKEN.finditer(text):
        if found[1] is not None:
            raise _Invalid(f"unterminated quote at offset {found.start()}")
        word = found[0]
        if word.isspace():
            continue
        core = word.lstrip("(")
        tokens.extend(["("] * (len(word) - len(core)))
        stripped = core.rstrip(")")
        if stripped:
            tokens.append(stripped)
        tokens.extend([")"] * (len(core) - len(stripped)))
    return tokens


class _Parser:
    """Recursive descent over the tokens: or_expr := and_expr ("or" and_expr)*, and so on."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0

    def parse(self) -> _Check:
        if not self.tokens:
            return _ALWAYS
        check = self._or()
        if self.pos < len(self.tokens):
            raise _Invalid(f"unexpected {self.tokens[self.pos]!r}")
        return check

    def _keyword(self) -> str | None:
        if self.pos < len(self.tokens) and self.tokens[self.pos].lower() in _KEYWORDS:
            return self.tokens[self.pos].lower()
        return None

    def _or(self) -> _Check:
        return self._joined("or", self._and, _Or)

    def _and(self) -> _Check:
        return self._joined("and", self._not, _And)

    def _joined(self, keyword: str, operand: Callable[[], _Check],
                join: Callable[[tuple[_Check, ...]], _Check]) -> _Check:
        """One ``operand``, or several joined by ``keyword``."""
        checks = [operand()]
        while self._keyword() == keyword:
            self.pos += 1
            checks.append(operand())
        return checks[0] if len(checks) == 1 else join(tuple(checks))

    def _not(self) -> _Check:
        if self._keyword() == "not":
            self.pos += 1
            return _Not(self._not())
        return self._atom()

    def _atom(self) -> _Check:
        if self.pos >= len(self.tokens):
            raise _Invalid("unexpected end of the check string")
        word = self.tokens[self.pos]
        self.pos += 1
        if word == "(":
            check = self._or()
            if self.pos >= len(self.tokens) or self.tokens[self.pos] != ")":
                raise _Invalid("missing ')'")
            self.pos += 1
            return check
        if word == ")" or word.lower() in _KEYWORDS:
            raise _Invalid(f"unexpected {word!r}")
        return _compile_check(word)


def _compile_rule(name: object, text: object) -> _Check:
    if not isinstance(name, str) or not isinstance(text, str):
        raise PolicyParseError(f"policy rule {name!r}: the check string must be a string")
    try:
        return _Parser(_tokenize(text)).parse()
    except _Invalid as exc:
        raise PolicyParseError(f"policy rule {name!r}: {exc} in {text!r}") from None


# The credential ``role:`` checks read (``creds.get("roles")``), beside the ``_Path``s that
# ``KEY:VALUE`` checks read.
_ROLES: Final = "roles"
# Answers kept per policy before they are all let go: far more than the rules times the
# role sets a cloud's callers hold.
_MAX_ANSWERS: Final = 4096
_PLAIN: Final = (str, int, float, bool, type(None))


def _credential_reads(check: _Check, rules: Mapping[str, _Check],
                      active: frozenset[str]) -> frozenset[_Path | str] | None:
    """What of the credentials ``check`` reads (evaluated with ``active`` rules being
    evaluated, as :class:`_RuleRef` does), or None when it reads the target."""
    if isinstance(check, _Always | _Never):
        return frozenset()
    if isinstance(check, _Not):
        return _credential_reads(check.check, rules, active)
    if isinstance(check, _And | _Or):
        reads: set[_Path | str] = set()
        for inner in check.checks:
            found = _credential_reads(inner, rules, active)
            if found is None:
                return None
            reads |= found
        return frozenset(reads)
    if isinstance(check, _RuleRef):
        referred = rules.get(check.name)
        if check.name in active or referred is None:
            return frozenset()          # False, whatever the target and credentials
        return _credential_reads(referred, rules, active | {check.name})
    if isinstance(check, _Role):
        return None if _reads_target(check.role) else frozenset({_ROLES})
    if isinstance(check, _Match):
        if _reads_target(check.right):
            return None
        return frozenset({check.left} if isinstance(check.left, _Path) else ())
    return None                         # a kind of check not known here: never kept


def _reads_target(template: _Template) -> bool:
    return any(isinstance(part, _Path) for part in template.parts)


def _frozen(value: Any) -> Any:
    """``value`` as part of a key that tells apart every value a check could answer
    otherwise for (its type too: ``1``, ``True`` and ``"1"`` print differently), or
    None when it is not plain data."""
    kind = type(value)
    if kind in _PLAIN or value is _MISSING:
        return (kind, value)
    if kind in (list, tuple, set, frozenset):
        if all(type(item) is str for item in value):     # roles: the usual case
            return (kind, tuple(value) if kind in (list, tuple) else frozenset(value), str)
        items = tuple(_frozen(item) for item in value)
        if None in items:
            return None
        return (kind, items if kind in (list, tuple) else frozenset(items))
    return None


class Policy:
    """The effective policy of one service: its defaults, with an operator's overrides."""

    def __init__(
        self, defaults: Mapping[str, str], overrides: Mapping[str, str] | None = None
    ) -> None:
        """Compile every rule now, so a typo fails at start-up and not on some later request.

        Overrides may also define rules the defaults lack, as aliases for ``rule:NAME``.
        """
        self._strings: dict[str, str] = {**defaults, **(overrides or {})}
        self._compiled: dict[str, _Check] = {
            name: _compile_rule(name, text) for name, text in self._strings.items()
        }
        # Built once: the starting ``active`` set of each rule, for the recursion guard.
        self._self_only = {name: frozenset((name,)) for name in self._strings}
        # What of the credentials each rule reads, in a fixed order; None: the target too.
        self._reads: dict[str, tuple[_Path | str, ...] | None] = {}
        for name, check in self._compiled.items():
            reads = _credential_reads(check, self._compiled, self._self_only[name])
            self._reads[name] = (None if reads is None
                                 else tuple(sorted(reads, key=lambda read: repr(read))))
        # (rule, the credentials it reads) -> its answer, for the rules that read no target.
        self._answers: dict[tuple[str, tuple[Any, ...]], bool] = {}

    @classmethod
    def load(cls, defaults: Mapping[str, str], path: Path | None) -> Policy:
        """The defaults, overridden by a ``policy.yaml`` (or ``.json``) file when ``path`` is given.

        The file maps rule names to check strings, as oslo's does. An empty file overrides nothing.
        """
        if path is None:
            return cls(defaults)
        overrides = _read_overrides(path)
        try:
            return cls(defaults, overrides)
        except PolicyParseError as exc:
            raise PolicyParseError(f"{path}: {exc}") from None

    def check(self, rule: str, target: Mapping[str, Any], creds: Mapping[str, Any]) -> bool:
        """Whether ``creds`` pass ``rule`` for ``target``; an unknown rule raises KeyError."""
        check = self._compiled[rule]
        reads = self._reads[rule]
        if reads is None:
            return check(_Evaluation(target, creds, self._compiled, self._self_only[rule]))
        values = tuple(_frozen(creds.get(read) if isinstance(read, str) else read.get(creds))
                       for read in reads)
        if None in values:
            return check(_Evaluation(target, creds, self._compiled, self._self_only[rule]))
        key = (rule, values)
        answer = self._answers.get(key)
        if answer is None:
            answer = check(_Evaluation(target, creds, self._compiled, self._self_only[rule]))
            if len(self._answers) >= _MAX_ANSWERS:
                self._answers.clear()
            self._answers[key] = answer
        return answer

    def enforce(self, rule: str, target: Mapping[str, Any], creds: Mapping[str, Any]) -> None:
        """Raise :class:`PolicyNotAuthorized` (403) unless ``creds`` pass ``rule``."""
        if not self.check(rule, target, creds):
            raise PolicyNotAuthorized(rule)

    def rules(self) -> dict[str, str]:
        """The effective check string of every rule, for dumps such as ``ownstack policy``."""
        return dict(self._strings)


def _read_overrides(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyParseError(f"policy file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyParseError(f"cannot read policy file {path}: {exc}") from None
    is_json = path.suffix.lower() == ".json"
    try:
        data = json.loads(text) if is_json else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        kind = "JSON" if is_json else "YAML"
        raise PolicyParseError(f"policy file {path} is not valid {kind}: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PolicyParseError(
            f"policy file {path} must map rule names to check strings, "
            f"not hold a {type(data).__name__}"
        )
    for name, value in data.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise PolicyParseError(
                f"policy file {path}: rule {name!r} must map to a check string, "
                f"not a {type(value).__name__}"
            )
    return data
