"""What a step screen's fields hold, taken when the user goes Back and shown again later.

A draft is the value of each field that has an id: an ``Input``'s text, a checkbox, the ticked
rows of a ``TickList``, the chosen row of a list with ``choose`` (``PickList``). Lists filled
later (read in the background, or refilled when another field changes) take their rows when
they are filled. The plan carries the drafts (``WizardPlan.drafts``), one per screen.
"""

from __future__ import annotations

from typing import Any

from textual.dom import DOMNode
from textual.widgets import Checkbox, Input

from msde_tui.engine.plans import WizardPlan
from msde_tui.screens.widgets import TickList

Draft = tuple[tuple[str, Any], ...]


def take(screen: DOMNode) -> Draft:
    """The values of the screen's fields, by id."""
    values: list[tuple[str, Any]] = []
    for widget in screen.query("*"):
        if not widget.id:
            continue
        if isinstance(widget, Input):
            if not widget.has_class("confirm"):  # a confirmation is typed anew each time
                values.append((widget.id, widget.value))
        elif isinstance(widget, Checkbox):
            values.append((widget.id, widget.value))
        elif isinstance(widget, TickList):
            values.append((widget.id, tuple(widget.selected)))
        elif callable(getattr(widget, "choose", None)) and hasattr(widget, "choice"):
            values.append((widget.id, widget.choice))
    return tuple(values)


def show(screen: DOMNode, draft: Draft) -> None:
    """Put the values back in the screen's fields (lists not filled yet keep them for later)."""
    for field_id, value in draft:
        found = screen.query(f"#{field_id}")
        if not found:
            continue
        widget = found.first()
        if isinstance(widget, Input):
            if widget.value != value:
                widget.value = value
        elif isinstance(widget, Checkbox):
            widget.value = bool(value)
        elif isinstance(widget, TickList):
            widget.tick_only(value)
        elif value is not None:
            choose = getattr(widget, "choose", None)
            if callable(choose):
                choose(value)


def of(plan: WizardPlan, key: str) -> Draft | None:
    return next((draft for name, draft in plan.drafts if name == key), None)


def with_draft(plan: WizardPlan, key: str, draft: Draft | None) -> WizardPlan:
    """The plan with this screen's draft (None or empty: without)."""
    from dataclasses import replace

    others = tuple((name, d) for name, d in plan.drafts if name != key)
    return replace(plan, drafts=others + (((key, draft),) if draft else ()))
