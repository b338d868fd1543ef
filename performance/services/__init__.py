"""Writes. Every change to a goal, indicator, target, result, figure or state goes through a
function here, so validation, the optimistic lock and attributed history have one place to live.

The lock unit is the aggregate root: a StrategicGoal; an Indicator with its inputs and target
parts; a Result with its figures. A change to existing data needs a reason and the version the
editor loaded; every row saved or deleted carries who and why into its history row. The version
is claimed on a fresh copy, so a refused call leaves the caller's object as it was.

One module per concern; every public name is re-exported here, so callers import from
`performance.services` as before."""

from .drafts import (
    DraftEntry,
    DraftsRefused,
    result_save_draft,
    result_save_draft_read,
    results_save_drafts,
    results_save_quarter,
)
from .evidence import (
    evidence_add,
    evidence_delete,
)
from .goals import (
    GOAL_FIELDS,
    strategic_goal_create,
    strategic_goal_delete,
    strategic_goal_update,
)
from .indicators import (
    INDICATOR_FIELDS,
    INPUT_FIELDS,
    PART_FIELDS,
    indicator_create,
    indicator_delete,
    indicator_update,
    target_part_revise,
)
from .milestones import (
    MilestoneChange,
    milestone_set,
    milestones_load,
    milestones_set,
)
from .notifications import (
    notification_mark_read,
    notifications_for_transition,
    notifications_mark_all_read,
    reminded_today,
    unit_remind,
)
from .periods import (
    PERIOD_DATES,
    ResultLocked,
    WindowClosed,
    entry_exception_grant,
    entry_exception_withdraw,
    period_get_or_create,
    period_lock,
    period_unlock,
    period_update,
)
from .quarter import (
    QuarterSubmitted,
    results_submit_quarter,
)
from .reminders import (
    REMIND_DAYS_BEFORE,
    reminders_send,
)
from .results import (
    NARRATIVE_FIELDS,
    RESULT_FIELDS,
    result_create,
    result_delete,
    result_figure_delete,
    result_state_set,
    result_update,
)
from .review import (
    DutiesSeparated,
    result_final_approve,
    result_first_approve,
    result_reopen,
    result_return,
    result_submit,
)

__all__ = [
    "DraftEntry",
    "DutiesSeparated",
    "DraftsRefused",
    "GOAL_FIELDS",
    "INDICATOR_FIELDS",
    "INPUT_FIELDS",
    "MilestoneChange",
    "NARRATIVE_FIELDS",
    "PART_FIELDS",
    "PERIOD_DATES",
    "REMIND_DAYS_BEFORE",
    "RESULT_FIELDS",
    "ResultLocked",
    "WindowClosed",
    "entry_exception_grant",
    "entry_exception_withdraw",
    "evidence_add",
    "evidence_delete",
    "indicator_create",
    "indicator_delete",
    "indicator_update",
    "milestone_set",
    "milestones_load",
    "milestones_set",
    "notification_mark_read",
    "notifications_for_transition",
    "notifications_mark_all_read",
    "period_get_or_create",
    "period_lock",
    "period_unlock",
    "period_update",
    "reminded_today",
    "reminders_send",
    "result_create",
    "result_delete",
    "result_figure_delete",
    "result_final_approve",
    "result_first_approve",
    "result_reopen",
    "result_return",
    "result_save_draft",
    "result_save_draft_read",
    "result_state_set",
    "result_submit",
    "result_update",
    "results_save_drafts",
    "results_save_quarter",
    "results_submit_quarter",
    "QuarterSubmitted",
    "strategic_goal_create",
    "strategic_goal_delete",
    "strategic_goal_update",
    "target_part_revise",
    "unit_remind",
]
