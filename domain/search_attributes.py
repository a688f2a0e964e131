"""Custom search attributes: how engineers find complaints in the Temporal Web UI.

e.g. `ComplaintTier = "urgent" AND LastBreachAt >= "2026-11-23T00:00:00+08:00"` lists urgent complaints
that breached today. Never customer data here (rules A §4.2).
"""

from temporalio.common import SearchAttributeKey

COMPLAINT_ID = SearchAttributeKey.for_keyword("ComplaintId")
TIER = SearchAttributeKey.for_keyword("ComplaintTier")
STATE = SearchAttributeKey.for_keyword("ComplaintState")
COMPLAINT_TYPE = SearchAttributeKey.for_keyword("ComplaintType")
CATEGORY = SearchAttributeKey.for_keyword("ComplaintCategory")
CHANNEL = SearchAttributeKey.for_keyword("ComplaintChannel")
POLICY = SearchAttributeKey.for_keyword("SlaPolicy")
HOLDER_ROLE = SearchAttributeKey.for_keyword("HolderRole")
DEPARTMENTS = SearchAttributeKey.for_keyword_list("Departments")
BREACHED = SearchAttributeKey.for_keyword_list("BreachedObligations")
BREACH_COUNT = SearchAttributeKey.for_int("BreachCount")
LAST_BREACH_AT = SearchAttributeKey.for_datetime("LastBreachAt")
NEXT_DUE_AT = SearchAttributeKey.for_datetime("NextDueAt")
REOPEN_COUNT = SearchAttributeKey.for_int("ReopenCount")

ALL = (
    COMPLAINT_ID,
    TIER,
    STATE,
    COMPLAINT_TYPE,
    CATEGORY,
    CHANNEL,
    POLICY,
    HOLDER_ROLE,
    DEPARTMENTS,
    BREACHED,
    BREACH_COUNT,
    LAST_BREACH_AT,
    NEXT_DUE_AT,
    REOPEN_COUNT,
)
