"""The validator every Update of the complaint workflow shares: the action table decides."""

from __future__ import annotations

import inspect
from typing import Any


def table_says(handler: Any) -> Any:
    """The validator of an Update: the action table decides, before anything enters history. (The SDK
    wants a validator's parameters to be the handler's: it gets the handler's signature.)"""

    def validate(self: Any, arg: Any) -> None:
        self._ask_table(arg, who=True)

    validate.__signature__ = inspect.signature(handler)  # type: ignore[attr-defined]
    return validate
