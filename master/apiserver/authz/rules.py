"""Whether one RBAC PolicyRule allows a request, and whether a set of rules covers another.

Rules are the plain dicts of ``rbac.authorization.k8s.io/v1`` (``verbs``, ``apiGroups``,
``resources``, ``resourceNames``, ``nonResourceURLs``), matched as Kubernetes' rbac
helpers match them: ``*`` matches anything; a resource rule names ``resource`` or
``resource/subresource`` (and ``*/subresource`` matches that subresource of every
resource); an empty ``resourceNames`` allows every name; a non-resource URL matches
exactly or, ending in ``*``, by prefix.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from master.apiserver.authz.attributes import Attributes

Rule = dict[str, Any]


def _has(values: Sequence[str] | None, wanted: str) -> bool:
    return bool(values) and ("*" in values or wanted in values)  # type: ignore[operator]


def resource_matches(rule_resources: Sequence[str], resource: str, subresource: str) -> bool:
    combined = f"{resource}/{subresource}" if subresource else resource
    for ruled in rule_resources:
        if ruled == "*" or ruled == combined:
            return True
        if subresource and ruled == f"*/{subresource}":
            return True
    return False


def url_matches(rule_urls: Sequence[str], path: str) -> bool:
    for url in rule_urls:
        if url == "*" or url == path:
            return True
        if url.endswith("*") and path.startswith(url[:-1]):
            return True
    return False


def rule_allows(rule: Rule, attrs: Attributes) -> bool:
    if not _has(rule.get("verbs"), attrs.verb):
        return False
    if not attrs.resource_request:
        return url_matches(rule.get("nonResourceURLs") or (), attrs.path)
    if rule.get("nonResourceURLs") and not rule.get("resources"):
        return False
    if not _has(rule.get("apiGroups"), attrs.api_group):
        return False
    if not resource_matches(rule.get("resources") or (), attrs.resource, attrs.subresource):
        return False
    names = rule.get("resourceNames")
    return not names or attrs.name in names


def rules_allow(rules: Iterable[Rule], attrs: Attributes) -> bool:
    return any(rule_allows(rule, attrs) for rule in rules)


def _atoms(rule: Rule) -> Iterator[tuple[str, str, str, str, str]]:
    """Each (verb, group, resource, name, url) a rule grants, for `covers` (Kubernetes breaks rules down the same way)."""
    verbs = rule.get("verbs") or []
    for url in rule.get("nonResourceURLs") or []:
        for verb in verbs:
            yield verb, "", "", "", url
    for group in rule.get("apiGroups") or []:
        for resource in rule.get("resources") or []:
            for verb in verbs:
                for name in rule.get("resourceNames") or [""]:
                    yield verb, group, resource, name, ""


def _atom_covered(owner: Rule, atom: tuple[str, str, str, str, str]) -> bool:
    verb, group, resource, name, url = atom
    if not _has(owner.get("verbs"), verb):
        return False
    if url:
        return url_matches(owner.get("nonResourceURLs") or (), url)
    if not _has(owner.get("apiGroups"), group):
        return False
    base, _, sub = resource.partition("/")
    owned = owner.get("resources") or ()
    if not ("*" in owned or resource in owned or (sub and base != "*" and f"*/{sub}" in owned)):
        return False
    names = owner.get("resourceNames")
    return not names or (bool(name) and name in names)


def uncovered(owner_rules: Sequence[Rule], requested: Iterable[Rule]) -> list[Rule]:
    """The requested rules (broken into one verb, group, resource, name each) no owner rule grants."""
    missing: list[Rule] = []
    for rule in requested:
        for atom in _atoms(rule):
            if not any(_atom_covered(owner, atom) for owner in owner_rules):
                verb, group, resource, name, url = atom
                missing.append(
                    {"verbs": [verb], "nonResourceURLs": [url]}
                    if url
                    else {
                        "verbs": [verb],
                        "apiGroups": [group],
                        "resources": [resource],
                        **({"resourceNames": [name]} if name else {}),
                    }
                )
    return missing
