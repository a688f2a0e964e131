"""Every module that runs inside a complaint's workflow code, read for the calls that would make a replay
differ: the clock, randomness, the environment, I/O and threads. Workflow code has `workflow.now()`,
`workflow.uuid4()`, `workflow.random()` and activities instead.

The product worker passes `workflows` and `domain` through the sandbox (workers/tuning.py), so its run-time
check no longer sees them; the tests' workers still check `workflows` at run time
(tests/workers/test_sandbox_tuning.py), but only on the paths a test takes. This reads every line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("workflows", "domain")
FORBIDDEN_IMPORTS = {
    "time": "the wall clock: use workflow.now()",
    "random": "randomness: use workflow.random()",
    "uuid": "randomness: use workflow.uuid4()",
    "secrets": "randomness",
    "os": "the environment and files",
    "socket": "I/O: use an activity",
    "subprocess": "I/O: use an activity",
    "asyncpg": "I/O: use an activity",
    "httpx": "I/O: use an activity",
    "urllib": "I/O: use an activity",
    "threading": "threads",
}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "fromtimestamp", "utcfromtimestamp"}  # datetime/date/arrow
FORBIDDEN_BUILTINS = {"open", "input", "print"}
# A lock around an interning cache: the same value whichever thread asks first.
ALLOWED = {("domain/sharing.py", "threading")}


def findings(source: str, name: str) -> list[str]:
    """What in one module's source could differ between a run and its replay, as `file:line: why`."""
    found: list[tuple[int, str]] = []
    for node in _run_code(ast.parse(source, name)):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module]
        for module in modules:
            top = module.partition(".")[0]
            if top in FORBIDDEN_IMPORTS and (name, top) not in ALLOWED:
                found.append(
                    (node.lineno, f"{name}:{node.lineno}: imports {module}: {FORBIDDEN_IMPORTS[top]}")
                )
        if isinstance(node, ast.Call):
            fn = node.func
            if isinstance(fn, ast.Attribute) and fn.attr in FORBIDDEN_CALLS:
                owner = fn.value.id if isinstance(fn.value, ast.Name) else ""
                if owner != "workflow":
                    found.append(
                        (node.lineno, f"{name}:{node.lineno}: calls {owner or '…'}.{fn.attr}(): the clock")
                    )
            elif isinstance(fn, ast.Name) and fn.id in FORBIDDEN_BUILTINS:
                found.append((node.lineno, f"{name}:{node.lineno}: calls {fn.id}(): I/O"))
    return [why for _, why in sorted(found)]


def _run_code(tree: ast.Module):
    """Every node but those of an `if __name__ == "__main__":` block (a module run as a command)."""
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("__name__ == '__main__'",):
            continue
        yield node
        todo.extend(ast.iter_child_nodes(node))


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_workflow_and_domain_code_has_no_non_deterministic_call(path: Path):
    name = path.relative_to(ROOT).as_posix()
    assert findings(path.read_text(encoding="utf-8"), name) == []


def test_the_reader_finds_each_kind_of_call():
    source = (
        "import time\n"
        "from uuid import uuid4\n"
        "from datetime import datetime, date\n"
        "from temporalio import workflow\n"
        "a = datetime.now()\n"
        "b = date.today()\n"
        "c = open('x')\n"
        "d = workflow.now()\n"
        "if __name__ == '__main__':\n"
        "    print(d)\n"
    )
    assert findings(source, "workflows/x.py") == [
        "workflows/x.py:1: imports time: the wall clock: use workflow.now()",
        "workflows/x.py:2: imports uuid: randomness: use workflow.uuid4()",
        "workflows/x.py:5: calls datetime.now(): the clock",
        "workflows/x.py:6: calls date.today(): the clock",
        "workflows/x.py:7: calls open(): I/O",
    ]
