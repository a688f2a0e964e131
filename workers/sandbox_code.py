"""One compiled copy of the workflow modules for every sandboxed run.

The sandbox imports a workflow's own module afresh for every complaint it loads, so that module-level
state is never shared between runs. Each such import read the module's bytecode and unmarshalled new code
objects: 76 KiB per cached complaint for workflows/complaint.py, a quarter of the worker's Python heap
(`python -m bench.memory_probe --inside`). Code objects are immutable, so this loader hands every import the
same ones; the module, its globals, its classes and functions are still new for each run, and the sandbox
checks them as before.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec, PathFinder, SourceFileLoader
from types import CodeType, ModuleType

_codes: dict[str, tuple[float, CodeType]] = {}  # source path -> (its mtime, its code)
_lock = threading.Lock()  # sandboxed runs import from several workflow-task threads at once


class _SharedCodeLoader(SourceFileLoader):
    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        mtime = self.path_stats(path)["mtime"]  # an edited file (tests, dev reload) is read again
        with _lock:
            cached = _codes.get(path)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        code = super().get_code(fullname)
        assert code is not None
        with _lock:
            _codes[path] = (mtime, code)
        return code


class _SharedCodeFinder(MetaPathFinder):
    def __init__(self, packages: frozenset[str]) -> None:
        self.packages = packages

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname.partition(".")[0] not in self.packages:
            return None
        spec = PathFinder.find_spec(fullname, path, target)
        if spec is None or type(spec.loader) is not SourceFileLoader or not spec.origin:
            return spec
        spec.loader = _SharedCodeLoader(fullname, spec.origin)
        return spec


def share_sandbox_code(*packages: str) -> None:
    """Serve the code of these top-level packages (default: workflows) from one compiled copy. Idempotent."""
    wanted = frozenset(packages or ("workflows",))
    for finder in sys.meta_path:
        if isinstance(finder, _SharedCodeFinder):
            finder.packages |= wanted
            return
    sys.meta_path.insert(0, _SharedCodeFinder(wanted))
