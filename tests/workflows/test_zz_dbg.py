from datetime import timedelta
from domain import actions as a
from tests.workflows.harness import *
from domain.models import *
from temporalio.api.enums.v1 import EventType
M=timedelta(minutes=1)
async def test_dbg(desk):
    c = await desk.start(tier=Tier.URGENT)
    await c.until(1 * M)
    await c.do(a.UPDATE_ACKNOWLEDGE, a.Acknowledge(actor=SPECIALIST))
    print("now", await desk.env.get_current_time(), c.started)
    await c.until(11 * M + 16 * timedelta(seconds=1))
    print("now", await desk.env.get_current_time())
    print([(n.template.value, n.context.get("obligation")) for n in desk.world.notifications])
    v = await c.view()
    print([(o.name.value,o.status.value,o.warn_at) for o in v.obligations])
    h = await c.handle.fetch_history()
    for e in h.events[-25:]:
        print(e.event_id, EventType.Name(e.event_type), e.event_time.ToDatetime())
