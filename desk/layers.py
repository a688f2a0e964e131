"""The import graph between our top-level packages, drawn for the README (`desk layers`).

The contract itself is in pyproject.toml (`[tool.importlinter]`, checked by tests/test_layers.py); this draws
what the code actually imports, in the contract's layer order, so a reader sees every arrow point down.
tests/test_layers.py also checks that the README's drawing is the current one.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent


def contract_layers(pyproject: Path = ROOT / "pyproject.toml") -> list[list[str]]:
    """The layers contract's layers, top first, each a list of sibling packages."""
    config = tomllib.loads(pyproject.read_text())["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["type"] == "layers")["layers"]
    return [[p.strip() for p in layer.replace("|", ":").split(":")] for layer in layers]


def package_edges(packages: list[str]) -> list[tuple[str, str]]:
    graph = grimp.build_graph(*packages, include_external_packages=False)
    return sorted(
        (a, b)
        for a in packages
        for b in packages
        if a != b and graph.direct_import_exists(importer=a, imported=b, as_packages=True)
    )


def mermaid() -> str:
    """A Mermaid flowchart: one row per layer (top first), an arrow per package that imports another."""
    layers = contract_layers()
    packages = [p for layer in layers for p in layer]
    lines = ["```mermaid", "flowchart TD"]
    for i, layer in enumerate(layers):
        lines.append(f"  subgraph L{i}[\" \"]")
        lines.append("    direction LR")
        lines.extend(f"    {p}" for p in layer)
        lines.append("  end")
    lines.extend(f"  {a} --> {b}" for a, b in package_edges(packages))
    lines.append("```")
    return "\n".join(lines)


def main() -> int:
    print(mermaid())
    return 0


if __name__ == "__main__":  # python -m desk.layers  (dev tool: grimp comes with import-linter, a dev dependency)
    raise SystemExit(main())
