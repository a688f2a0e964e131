"""The workflows the worker registers (workers/main.py imports this list)."""

from workflows.complaint import ComplaintWorkflow
from workflows.investigation import DepartmentInvestigationWorkflow
from workflows.retention import RetentionWorkflow

WORKFLOWS = [ComplaintWorkflow, DepartmentInvestigationWorkflow, RetentionWorkflow]
