"""The harness itself works: real servers answer and migrations are idempotent."""

from ledger.schema import migrate


async def test_migrations_apply_once_and_second_start_changes_nothing(pg_url):
    first = await migrate(pg_url)
    second = await migrate(pg_url)
    assert second == []
    assert len(first) == len(set(first))


async def test_dev_server_has_search_attributes(dev_env):
    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest

    resp = await dev_env.client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=dev_env.client.namespace)
    )
    assert "ComplaintTier" in resp.custom_attributes
    assert "LastBreachAt" in resp.custom_attributes
