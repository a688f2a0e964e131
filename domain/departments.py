"""Which departments a department's head answers for: a department and the sub-departments under it.

Complaints are routed to the departments that do the work (仓储 warehouse, 运输 transport, 配送 delivery);
the logistics department (物流部) they belong to is where their head sits. Data, not code: a new
sub-department is one line here.
"""

from __future__ import annotations

from domain.models import Department

SUB_DEPARTMENTS: dict[Department, frozenset[Department]] = {
    Department.LOGISTICS: frozenset({Department.WAREHOUSE, Department.TRANSPORT, Department.DELIVERY}),
}


def team_departments(department: Department | None) -> list[Department]:
    """The department itself and every sub-department under it, in a stable order."""
    if department is None:
        return []
    return [department, *sorted(SUB_DEPARTMENTS.get(department, ()))]
