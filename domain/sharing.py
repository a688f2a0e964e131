"""One instance for all equal documents (policies, calendars) that many complaints carry.

Every cached complaint holds its policy in its state (about 26 KiB) and, from intake, the calendars its
clocks run on (about 9 KiB each): nearly always the same few documents (`python -m bench.memory_probe
--inside`). Nothing changes them in place (`Policy.with_calendars`, `for_complaint`, `model_copy` make new
ones), so complaints can share one, a policy's built calendars included.
"""

from __future__ import annotations

import threading
import weakref
from typing import TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_kept: weakref.WeakValueDictionary[tuple[type, str], BaseModel] = weakref.WeakValueDictionary()
_lock = threading.Lock()  # workflow tasks run on several threads


def shared(document: M) -> M:
    """The one kept instance equal to this document (a private copy of it the first time), for as long as
    some complaint holds it."""
    key = (type(document), document.model_dump_json())
    with _lock:
        kept = _kept.get(key)
        if kept is None:
            kept = _kept[key] = document.model_copy(deep=True)  # not the caller's: it may change its own
    return kept  # type: ignore[return-value]
