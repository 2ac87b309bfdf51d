"""SQL ``WHERE`` fragments for issue and event filters, built from fixed text and bound parameters.

User values only ever travel as parameters; metadata keys are checked against :data:`KEY_PATTERN`
before they become part of a JSON path.
"""

from __future__ import annotations

import re
from typing import Any

from foreman.issues.errors import InvalidInput
from foreman.issues.models import EventKind, IssueFilter, Status

KEY_PATTERN = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
_NO_FILTER = IssueFilter()  # read-only stand-in for "no filter" (not built again on every claim)

#: per backend: "the issue has label :{p}" and "metadata at JSON path :{k} equals :{v}" (issue 11)
JSON_CONDITIONS = {
    "sqlite": ("EXISTS (SELECT 1 FROM json_each(i.labels) WHERE value = :{p})", "json_extract(i.metadata, :{k}) = :{v}"),
    "postgres": ("i.labels::jsonb @> jsonb_build_array(CAST(:{p} AS text))",
                 "jsonb_path_query_first(i.metadata::jsonb, CAST(:{k} AS jsonpath)) #>> '{{}}' = CAST(:{v} AS text)"),
}


def issue_where(
    where: IssueFilter | None,
    *,
    statuses: list[Status] | None = None,
    assignee: str | None = None,
    issue_id: str | None = None,
    none_of: list[IssueFilter] | None = None,
    dialect: str = "sqlite",
) -> tuple[str, dict[str, Any]]:
    """``(" AND ...", params)`` for the issue alias ``i``; every condition must hold.

    ``none_of``: the issue matches none of these filters (no worker plan would take it).
    ``dialect`` picks the JSON functions of :data:`JSON_CONDITIONS` (``sqlite`` or ``postgres``).

    Raises:
        InvalidInput: a metadata key outside ``[A-Za-z0-9_-]{1,64}``.
    """
    if where is None and not (statuses or assignee or issue_id or none_of):
        return "", {}  # claim_next's common case, once per claim
    fragment, params = _matching(where or _NO_FILTER, "", dialect)
    clauses = [fragment] if fragment else []
    for n, other in enumerate(none_of or []):  # CASE: a NULL (metadata key absent) is "does not match"
        condition, own = _matching(other, f"not{n}_", dialect)
        clauses.append(f"(CASE WHEN {condition} THEN 1 ELSE 0 END) = 0" if condition else "1 = 0")
        params.update(own)
    if issue_id is not None:
        clauses.append("i.id = :only_id")
        params["only_id"] = issue_id
    if assignee is not None:
        clauses.append("i.assignee = :assignee")
        params["assignee"] = assignee
    _add_in(clauses, params, "i.status", "status", [Status(s).value for s in statuses or []])
    return "".join(f" AND {c}" for c in clauses), params


def _matching(where: IssueFilter, prefix: str, dialect: str) -> tuple[str, dict[str, Any]]:
    """``("c1 AND c2 ...", params)``: the issue passes ``where`` ("" when it has no condition);
    parameter names start with ``prefix``."""
    has_label, has_value = JSON_CONDITIONS[dialect]
    clauses: list[str] = []
    params: dict[str, Any] = {}
    _add_in(clauses, params, "i.type", f"{prefix}type", [t.value for t in where.types])
    for n, label in enumerate(where.labels):
        clauses.append(has_label.format(p=f"{prefix}label{n}"))
        params[f"{prefix}label{n}"] = label
    for n, (key, value) in enumerate(where.metadata.items()):
        if not KEY_PATTERN.match(key):
            raise InvalidInput(f"metadata key {key!r} must be 1-64 letters, digits, '_' or '-'")
        clauses.append(has_value.format(k=f"{prefix}mkey{n}", v=f"{prefix}mval{n}"))
        params[f"{prefix}mkey{n}"], params[f"{prefix}mval{n}"] = f'$."{key}"', value
    return " AND ".join(clauses), params


def event_where(issue_id: str | None, kinds: list[EventKind] | None) -> tuple[str, dict[str, Any]]:
    """``(" AND ...", params)`` for the events table."""
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if issue_id is not None:
        clauses.append("issue_id = :issue_id")
        params["issue_id"] = issue_id
    _add_in(clauses, params, "kind", "kind", [EventKind(k).value for k in kinds or []])
    return "".join(f" AND {c}" for c in clauses), params


def _add_in(clauses: list[str], params: dict[str, Any], column: str, stem: str, values: list[str]) -> None:
    if values:
        names = [f"{stem}{n}" for n in range(len(values))]
        clauses.append(f"{column} IN ({', '.join(':' + n for n in names)})")
        params.update(zip(names, values))
