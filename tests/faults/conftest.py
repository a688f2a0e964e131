"""Fault tests: the real product as processes (dev server, PostgreSQL, worker), one fault each.

They have their own embedded PostgreSQL (the PostgreSQL test stops it), their own dev server per test on a
data file that survives a kill, and the worker as `python -m desk worker`. Windows are seconds
(`bench.complaints.policy_with_window`), so each test is over in about a minute.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from bench.processes import Postgres
from bench.product import Product


@pytest.fixture(scope="session")
def fault_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    pg = Postgres(tmp_path_factory.mktemp("faults-pg") / "data")
    try:
        yield pg
    finally:
        pg.cleanup()


@pytest.fixture
def show(capsys: pytest.CaptureFixture[str]):
    """Print past pytest's capture: each fault test states what it checked."""

    def _show(line: str) -> None:
        with capsys.disabled():
            print("\n" + line)

    return _show


@pytest_asyncio.fixture
async def product_factory(tmp_path: Path, fault_pg: Postgres) -> AsyncIterator:
    made: list[Product] = []

    async def make(*, env: dict[str, str] | None = None, worker: bool = True) -> Product:
        product = Product(tmp_path / f"p{len(made)}", pg=fault_pg, env=env)
        made.append(product)
        await product.start(worker=worker)
        return product

    try:
        yield make
    finally:
        for product in made:
            await product.stop()
