"""Start-up check: does the namespace have every search attribute the product writes?

A workflow that upserts an unknown search attribute fails its workflow task over and over, so a missing
attribute must stop the worker at start with the exact command that fixes it, not surface as stuck
complaints. The dev stack registers them itself; on a cluster an operator runs the printed command once per
namespace (on Temporal Cloud: `tcld namespace search-attributes add` or the Cloud UI, printed too).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode

from domain import search_attributes

# temporal CLI / tcld type names, by the SDK's indexed value type.
_CLI_TYPE = {
    IndexedValueType.INDEXED_VALUE_TYPE_TEXT: "Text",
    IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD: "Keyword",
    IndexedValueType.INDEXED_VALUE_TYPE_INT: "Int",
    IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE: "Double",
    IndexedValueType.INDEXED_VALUE_TYPE_BOOL: "Bool",
    IndexedValueType.INDEXED_VALUE_TYPE_DATETIME: "Datetime",
    IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST: "KeywordList",
}


def cli_type(key: SearchAttributeKey) -> str:
    return _CLI_TYPE[IndexedValueType.ValueType(key.indexed_value_type)]


@dataclass(frozen=True)
class SearchAttributeReport:
    namespace: str
    missing: tuple[SearchAttributeKey, ...]
    wrong_type: tuple[tuple[SearchAttributeKey, str], ...]  # (expected key, type found)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.wrong_type

    def commands(self) -> list[str]:
        """The `temporal operator search-attribute create` that adds every missing attribute: the CLI pairs
        each --name with the --type that follows it."""
        if not self.missing:
            return []
        pairs = " ".join(f"--name {k.name} --type {cli_type(k)}" for k in self.missing)
        return [
            f"temporal operator search-attribute create --namespace {shlex.quote(self.namespace)} {pairs}"
        ]

    def cloud_commands(self) -> list[str]:
        if not self.missing:
            return []
        pairs = " ".join(f"--search-attribute {shlex.quote(f'{k.name}={cli_type(k)}')}" for k in self.missing)
        return [f"tcld namespace search-attributes add --namespace {shlex.quote(self.namespace)} {pairs}"]

    def message(self) -> str:
        lines = [f"namespace {self.namespace!r} is not ready for the complaint desk:"]
        if self.missing:
            lines.append("missing search attributes: " + ", ".join(k.name for k in self.missing))
            lines.append("add them (self-hosted / dev server):")
            lines += [f"  {c}" for c in self.commands()]
            lines.append("or on Temporal Cloud:")
            lines += [f"  {c}" for c in self.cloud_commands()]
        for key, found in self.wrong_type:
            lines.append(
                f"search attribute {key.name} has type {found}, the desk needs {cli_type(key)}: "
                "use a namespace where it is free, or remove it there first"
            )
        return "\n".join(lines)


class PreflightError(Exception):
    """The namespace cannot run the product as it is; the message says what to run."""


async def check_search_attributes(
    client: Client, required: Iterable[SearchAttributeKey] = search_attributes.ALL
) -> SearchAttributeReport:
    resp = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    have = {**resp.system_attributes, **resp.custom_attributes}
    missing: list[SearchAttributeKey] = []
    wrong: list[tuple[SearchAttributeKey, str]] = []
    for key in required:
        found = have.get(key.name)
        if found is None:
            missing.append(key)
        elif found != key.indexed_value_type:
            wrong.append((key, _CLI_TYPE.get(found, str(found))))
    return SearchAttributeReport(client.namespace, tuple(missing), tuple(wrong))


async def preflight(client: Client) -> SearchAttributeReport | None:
    """Raise PreflightError when attributes are missing or mistyped. Returns None when the server does not
    let this client list them (e.g. an API key without operator rights): the check is then skipped, which
    the caller should log, rather than refusing to start."""
    try:
        report = await check_search_attributes(client)
    except RPCError as e:
        if e.status in (RPCStatusCode.PERMISSION_DENIED, RPCStatusCode.UNIMPLEMENTED):
            return None
        raise
    if not report.ok:
        raise PreflightError(report.message())
    return report
