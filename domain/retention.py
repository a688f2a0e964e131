"""Retention of complaint records (rules: "kept for a configurable number of years"): what the retention
workflow asks of its activity and what it reports. Pure models, safe in the workflow sandbox."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

ACTIVITY_RETENTION_SWEEP = "retention_sweep"
RETENTION_WORKFLOW = "RetentionWorkflow"


class RetentionMode(StrEnum):
    ARCHIVE = "archive"  # move out of the live ledger into ledger_archive (one JSON record per complaint)
    PURGE = "purge"  # delete for good, archived records past the period included


class RetentionInput(BaseModel):
    years: int = Field(ge=1, le=100)
    mode: RetentionMode = RetentionMode.ARCHIVE
    dry_run: bool = False  # only count what would go
    batch_size: int = Field(default=500, ge=1, le=10_000)
    # Pinned on the first run so continue-as-new keeps the same horizon; None: now minus `years`.
    cutoff: datetime | None = None
    carried: RetentionReport | None = None  # totals so far, across continue-as-new


class RetentionSweep(BaseModel):
    cutoff: datetime
    mode: RetentionMode
    dry_run: bool
    batch_size: int


class RetentionBatch(BaseModel):
    complaints: int  # complaints archived / purged (or, in a dry run, that would be)
    rows: dict[str, int] = Field(default_factory=dict)  # per ledger table, the complaint row included
    archive_purged: int = 0  # purge mode: archived records past the period deleted


class RetentionReport(BaseModel):
    cutoff: datetime
    mode: RetentionMode
    dry_run: bool
    complaints: int = 0
    rows: dict[str, int] = Field(default_factory=dict)
    archive_purged: int = 0
    batches: int = 0

    def add(self, batch: RetentionBatch) -> None:
        self.complaints += batch.complaints
        self.archive_purged += batch.archive_purged
        for table, n in batch.rows.items():
            self.rows[table] = self.rows.get(table, 0) + n
        self.batches += 1


RetentionInput.model_rebuild()


def years_before(moment: datetime, years: int) -> datetime:
    """The same calendar moment `years` earlier; 29 February falls back to the 28th."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)
