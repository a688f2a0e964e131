"""The one place that connects to Temporal: client factory, data converter, workflow ids."""

from __future__ import annotations

import hashlib

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from desk.settings import Settings

DATA_CONVERTER = pydantic_data_converter


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=DATA_CONVERTER,
    )


def workflow_id_for(complaint_id: str) -> str:
    return f"complaint-{complaint_id}"


def dedupe_workflow_id(dedupe_key: str) -> str:
    """Same customer + order + issue while open → same workflow id, so update-with-start joins it."""
    return "complaint-d-" + hashlib.sha256(dedupe_key.encode()).hexdigest()[:24]
