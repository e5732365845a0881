"""A saga's progress as a customer sees it: the steps so far, how far along, and the outcome in words.

Built from the saga row and its step log, so the order page and its live JSON show the same
thing, for either saga style, and for both sagas of an order: its placement and, once the
customer cancels a confirmed order, its cancellation. Reads only; nothing here changes a saga.
"""

import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from inventory import selectors as inventory_selectors
from orders import events as ev
from orders import selectors as order_selectors
from orders.cancellation_saga import NAME as CANCELLATION_SAGA
from orders.placement import ORDER_SAGA
from sagas.engine.definition import get_definition
from sagas.engine.notes import note_in_language
from sagas.engine.styles import style_of
from sagas.models import Direction, SagaInstance, SagaStatus, SagaStepLog, StepStatus
from sagas.participant.customers import customer_name
from sagas.participant.money import format_money, to_money

# What each step of the order's sagas (placement, then cancellation) means to the customer: the
# step, what it does while it runs, and what its compensation did for them.
_STEP_WORDS: dict[str, tuple[Any, Any, Any]] = {
    "create_order": (
        gettext_lazy("Create the order"),
        gettext_lazy("Placing your order…"),
        gettext_lazy("Your order was cancelled."),
    ),
    "reserve_stock": (
        gettext_lazy("Reserve stock"),
        gettext_lazy("Reserving your items…"),
        gettext_lazy("Your stock reservation was released."),
    ),
    "charge_payment": (
        gettext_lazy("Take payment"),
        gettext_lazy("Taking payment…"),
        gettext_lazy("Your payment was refunded."),
    ),
    "approve_order": (gettext_lazy("Confirm the order"), gettext_lazy("Confirming your order…"), ""),
    "commit_stock": (
        gettext_lazy("Hand over to the warehouse"),
        gettext_lazy("Handing your order to the warehouse…"),
        "",
    ),
    "mark_cancelling": (
        gettext_lazy("Stop the order"),
        gettext_lazy("Cancelling your order…"),
        gettext_lazy("Your order is confirmed again."),
    ),
    "refund_payment": (gettext_lazy("Refund your payment"), gettext_lazy("Refunding your payment…"), ""),
    "return_stock": (gettext_lazy("Put the items back in stock"), gettext_lazy("Putting the items back in stock…"), ""),
    "mark_cancelled": (gettext_lazy("Cancel the order"), gettext_lazy("Finishing the cancellation…"), ""),
}
_UNDOING_WORDS = {
    "create_order": gettext_lazy("Cancelling your order…"),
    "reserve_stock": gettext_lazy("Releasing your stock reservation…"),
    "charge_payment": gettext_lazy("Refunding your payment…"),
    "mark_cancelling": gettext_lazy("Keeping your order…"),
}
# Business refusals, by the code a participant records, in words a customer understands.
_REFUSAL_WORDS = {
    "insufficient_funds": gettext_lazy("Payment declined: insufficient funds."),
    "account_not_found": gettext_lazy("Payment declined: there is no payment account for you."),
    "out_of_stock": gettext_lazy("Out of stock: there were not enough items left to reserve."),
    "product_inactive": gettext_lazy("The product is no longer for sale."),
    "product_not_found": gettext_lazy("The product no longer exists."),
}
_STATE_LABELS = {
    "pending": gettext_lazy("Waiting"),
    "running": gettext_lazy("In progress"),
    "retrying": gettext_lazy("Trying again"),
    "done": gettext_lazy("Done"),
    "refused": gettext_lazy("Declined"),
    "failed": gettext_lazy("Failed"),
    "undoing": gettext_lazy("Undoing"),
    "undone": gettext_lazy("Undone"),
    "undo_failed": gettext_lazy("Undo failed"),
    "skipped": gettext_lazy("Not reached"),
}
_CUSTOMER_STATUS = {
    SagaStatus.PENDING: gettext_lazy("Placing"),
    SagaStatus.RUNNING: gettext_lazy("In progress"),
    SagaStatus.COMPENSATING: gettext_lazy("Being cancelled"),
    SagaStatus.COMPLETED: gettext_lazy("Completed"),
    SagaStatus.COMPENSATED: gettext_lazy("Cancelled"),
    SagaStatus.FAILED: gettext_lazy("On hold"),
}
_PROBLEM = (StepStatus.FAILED, StepStatus.TIMED_OUT, StepStatus.ABANDONED)
# A choreographed saga logs events, not steps: the step each event reports, and which way.
_EVENT_STEPS = {
    ev.ORDER_CREATED: ("create_order", Direction.FORWARD),
    ev.STOCK_RESERVED: ("reserve_stock", Direction.FORWARD),
    ev.STOCK_REJECTED: ("reserve_stock", Direction.FORWARD),
    ev.PAYMENT_CAPTURED: ("charge_payment", Direction.FORWARD),
    ev.PAYMENT_DECLINED: ("charge_payment", Direction.FORWARD),
    ev.ORDER_APPROVED: ("approve_order", Direction.FORWARD),
    ev.STOCK_COMMITTED: ("commit_stock", Direction.FORWARD),
    ev.ORDER_CANCELLED: ("create_order", Direction.COMPENSATION),
    ev.STOCK_RELEASED: ("reserve_stock", Direction.COMPENSATION),
    ev.PAYMENT_REFUNDED: ("charge_payment", Direction.COMPENSATION),
}
_EVENT_REQUESTS = (ev.ORDER_REQUESTED, ev.ORDER_CANCEL_REQUESTED)


@dataclass(frozen=True)
class _Call:
    """One participant call as the log tells it, whichever style logged it."""

    step: str
    direction: str
    status: str
    result: dict[str, Any]
    attempt: int


@dataclass(frozen=True)
class StepView:
    name: str
    label: str
    state: str
    state_label: str
    detail: str = ""


@dataclass(frozen=True)
class SagaProgress:
    saga_id: str
    order_id: str
    status: str
    # The order's status in saga terms, for colours: a finished cancellation reads as "compensated".
    tone: str
    customer_status: str
    terminal: bool
    percent: int
    headline: str
    outcome: str
    steps: tuple[StepView, ...]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def saga_for_order(order_id: uuid.UUID | str, customer: str) -> SagaInstance | None:
    """The saga placing this order for this customer, or None (also for someone else's order)."""
    if not customer:
        return None
    sagas = SagaInstance.objects.filter(definition_name=ORDER_SAGA, business_key=order_id, party=customer)
    return sagas.order_by("created_at").first()


def cancellation_saga_for_order(order_id: uuid.UUID | str, customer: str) -> SagaInstance | None:
    """The saga cancelling this confirmed order for this customer, or None."""
    if not customer:
        return None
    sagas = SagaInstance.objects.filter(definition_name=CANCELLATION_SAGA, business_key=order_id, party=customer)
    return sagas.order_by("-created_at", "-id").first()


def working_saga(placement: SagaInstance) -> SagaInstance:
    """The saga doing the order's work now: its cancellation once one started, else its placement."""
    return cancellation_saga_for_order(placement.business_key, placement.party) or placement


def cancellations_by_order(placements: Iterable[SagaInstance]) -> dict[str, SagaInstance]:
    """The latest cancellation saga of each of these orders, keyed by order id as text, in one query."""
    keys = {placement.business_key: placement.party for placement in placements if placement.business_key}
    if not keys:
        return {}
    found: dict[str, SagaInstance] = {}
    sagas = SagaInstance.objects.filter(definition_name=CANCELLATION_SAGA, business_key__in=list(keys))
    for saga in sagas.order_by("created_at", "id"):
        if keys.get(saga.business_key) == saga.party:
            found[str(saga.business_key)] = saga
    return found


def sagas_for_customer(customer: str) -> QuerySet[SagaInstance]:
    """The customer's order sagas, newest first; an order still being created is among them."""
    sagas = SagaInstance.objects.filter(definition_name=ORDER_SAGA, party=customer, business_key__isnull=False)
    return sagas.order_by("-created_at", "-id")


# Where the order stands while, or after, its cancellation saga runs, in the placement's words:
# being cancelled, cancelled, on hold; a cancellation undone leaves the placement's own status.
_STATUS_WHILE_CANCELLING = {
    SagaStatus.PENDING: SagaStatus.COMPENSATING,
    SagaStatus.RUNNING: SagaStatus.COMPENSATING,
    SagaStatus.COMPENSATING: SagaStatus.RUNNING,
    SagaStatus.COMPLETED: SagaStatus.COMPENSATED,
    SagaStatus.FAILED: SagaStatus.FAILED,
}


def order_status(placement: SagaInstance, cancellation: SagaInstance | None = None) -> str:
    """The order's status for a customer, as a saga status: the placement's, unless a cancellation says otherwise."""
    if cancellation is not None and cancellation.status in _STATUS_WHILE_CANCELLING:
        return _STATUS_WHILE_CANCELLING[cancellation.status]
    return placement.status


def _order_status_during(saga: SagaInstance) -> str:
    """The order's status while this saga, of either kind, is the one at work; an undone cancellation
    leaves a confirmed order."""
    if saga.definition_name == CANCELLATION_SAGA:
        return _STATUS_WHILE_CANCELLING.get(saga.status, SagaStatus.COMPLETED)
    return saga.status


def customer_status(saga: SagaInstance, cancellation: SagaInstance | None = None) -> str:
    """One or two words for a list: Placing, In progress, Being cancelled, Completed, Cancelled..."""
    status = order_status(saga, cancellation)
    return str(_CUSTOMER_STATUS.get(status, status))


def _label(name: str) -> str:
    words = _STEP_WORDS.get(name)
    return str(words[0]) if words else name.replace("-", " ").replace("_", " ").capitalize()


def _calls(logs: Iterable[SagaStepLog]) -> list[_Call]:
    """Participant calls from the log: orchestrated step attempts as they are, events as the step they report."""
    calls = []
    for log in logs:
        if log.direction in (Direction.FORWARD, Direction.COMPENSATION):
            calls.append(_Call(log.step_name, log.direction, log.status, log.result, log.attempt))
        elif log.direction == Direction.EVENT and log.step_name in _EVENT_STEPS:
            step, direction = _EVENT_STEPS[log.step_name]
            calls.append(_Call(step, direction, log.status, log.result, log.attempt))
        elif log.direction == Direction.EVENT and log.step_name and log.step_name not in _EVENT_REQUESTS:
            # A service's attempt at handling an event, logged under its step when it did not act.
            undo = log.idempotency_key.endswith(":compensate")
            direction = Direction.COMPENSATION if undo else Direction.FORWARD
            calls.append(_Call(log.step_name, direction, log.status, log.result, log.attempt))
    return calls


def _step_names(saga: SagaInstance, calls: Iterable[_Call]) -> list[str]:
    """The definition's steps in order, then any step the log names that the definition does not."""
    try:
        names = [step.name for step in get_definition(saga.definition_name, saga.definition_version).steps]
    except LookupError:
        names = []
    for call in calls:
        if call.step not in names:
            names.append(call.step)
    return names


def _step_view(name: str, saga: SagaInstance, calls: list[_Call]) -> StepView:
    forward = [call for call in calls if call.direction == Direction.FORWARD]
    undo = [call for call in calls if call.direction == Direction.COMPENSATION]
    state, detail = "pending", ""
    # A call that went through is final: a service applies a step's action once, and an attempt that
    # failed is sometimes logged after it (a timed-out choreographed attempt reports late).
    went_through = [call for call in forward if call.status in (StepStatus.SUCCEEDED, StepStatus.RECORDED)]
    if went_through:
        forward = went_through
    if forward:
        last = forward[-1]
        if last.status == StepStatus.RUNNING:
            state = "running"
        elif last.status in (StepStatus.SUCCEEDED, StepStatus.RECORDED):
            state = "done"
        elif last.status == StepStatus.REFUSED:
            state = "refused"
            said = note_in_language(str(last.result.get("message", "")))
            detail = str(_REFUSAL_WORDS.get(str(last.result.get("code", "")), said))
        elif last.status in _PROBLEM:
            if style_of(saga).runs_steps:
                current = not saga.is_terminal and saga.direction == Direction.FORWARD and saga.current_step == name
            else:
                # The services retry their own handlers while the saga is in progress, whatever its step.
                current = not saga.is_terminal
            state = "retrying" if current else "failed"
            detail = (
                _("Attempt %(attempt)s did not go through.") % {"attempt": last.attempt}
                if last.attempt
                else _("It did not go through.")
            )
    if undo:
        last = undo[-1]
        if last.status == StepStatus.SUCCEEDED and not last.result.get("empty"):
            state, detail = "undone", str(_STEP_WORDS.get(name, ("", "", ""))[2])
        elif last.status == StepStatus.RUNNING or (last.status in _PROBLEM and not saga.is_terminal):
            state = "undoing"
        elif last.status in (*_PROBLEM, StepStatus.REFUSED):
            state = "undo_failed"
    if state == "pending" and saga.is_terminal:
        state = "skipped"
    return StepView(name=name, label=_label(name), state=state, state_label=str(_STATE_LABELS[state]), detail=detail)


def _with_choreography_in_flight(saga: SagaInstance, steps: list[StepView]) -> list[StepView]:
    """Events only say what is finished: show what the services are doing now."""
    if style_of(saga).runs_steps or saga.is_terminal:
        return steps

    def moved(step: StepView, state: str) -> StepView:
        return StepView(step.name, step.label, state, str(_STATE_LABELS[state]), step.detail)

    if saga.status == SagaStatus.COMPENSATING:
        return [
            moved(step, "undoing") if step.state == "done" and step.name in _UNDOING_WORDS else step for step in steps
        ]
    if any(step.state in ("running", "retrying") for step in steps):
        return steps
    upcoming = next((index for index, step in enumerate(steps) if step.state == "pending"), None)
    if upcoming is None:
        return steps
    return [moved(step, "running") if index == upcoming else step for index, step in enumerate(steps)]


def _percent(saga: SagaInstance, steps: list[StepView]) -> int:
    if saga.is_terminal:
        return 100
    if not steps:
        return 0
    if saga.status == SagaStatus.COMPENSATING:
        # Undoing: how much of what was done has been undone.
        to_undo = [step for step in steps if step.state in ("done", "undoing", "undone")]
        undone = sum(step.state == "undone" for step in to_undo)
        return round(100 * undone / len(to_undo)) if to_undo else 0
    done = sum(step.state == "done" for step in steps)
    return min(99, round(100 * done / len(steps)))


def _headline(saga: SagaInstance, steps: list[StepView]) -> str:
    cancelling = saga.definition_name == CANCELLATION_SAGA
    if saga.status == SagaStatus.COMPLETED:
        return _("Cancelled") if cancelling else _("Completed")
    if saga.status == SagaStatus.COMPENSATED:
        return _("Not cancelled") if cancelling else _("Cancelled")
    if saga.status == SagaStatus.FAILED:
        return _("On hold")
    if saga.paused:
        return _("Paused by our staff")
    if saga.status == SagaStatus.COMPENSATING:
        undoing = next((step.name for step in reversed(steps) if step.state == "undoing"), saga.current_step)
        return str(_UNDOING_WORDS.get(undoing, _("Cancelling your order…")))
    # Until the first step is done the saga has only just begun: "Placing your order…" or "Cancelling your order…".
    first = steps[0].name if steps else ""
    if not any(step.name == first and step.state == "done" for step in steps):
        return str(_STEP_WORDS[first][1]) if first in _STEP_WORDS else _("Placing your order…")
    active = next((step.name for step in steps if step.state in ("running", "retrying")), saga.current_step)
    words = _STEP_WORDS.get(active)
    return str(words[1]) if words else _("Processing your order…")


# Sentences that end with one of these full stops (Japanese, Chinese) run on without a space.
_FULL_WIDTH_STOPS = ("\u3002", "\uff01", "\uff1f")


def join_sentences(sentences: Iterable[str]) -> str:
    """The sentences as one text, spaced as their language spaces them; empty ones left out."""
    text = ""
    for sentence in sentences:
        if not sentence:
            continue
        if text and not text.endswith(_FULL_WIDTH_STOPS):
            text += " "
        text += str(sentence)
    return text


def _cause(saga: SagaInstance, logs: list[SagaStepLog], calls: list[_Call]) -> str:
    """Why a saga compensated, in one sentence."""
    for call in calls:
        if call.direction == Direction.FORWARD and call.status == StepStatus.REFUSED:
            code = str(call.result.get("code", ""))
            if code in _REFUSAL_WORDS:
                return str(_REFUSAL_WORDS[code])
            message = note_in_language(str(call.result.get("message", ""))).strip().rstrip(".。")
            if message:
                return _("%(step)s was declined: %(message)s.") % {"step": _label(call.step), "message": message}
            return _("%(step)s was declined.") % {"step": _label(call.step)}
    stops = [log for log in logs if log.direction == Direction.OPERATOR and log.action == "compensate"]
    if stops:
        # The customer's own cancel is recorded as an operator's compensate, under their name.
        if stops[-1].actor == customer_name(saga.party):
            return _("You cancelled the order.")
        return _("Our staff cancelled the order.")
    if any(log.direction == Direction.SYSTEM and "Deadline" in log.reason for log in logs):
        return _("The order took too long to go through, so it was cancelled.")
    failed = [call for call in calls if call.direction == Direction.FORWARD and call.status in _PROBLEM]
    if failed:
        return _("%(step)s did not go through after several tries.") % {"step": _label(failed[-1].step)}
    return _("The order was cancelled.")


def _money_note(saga: SagaInstance, steps: list[StepView]) -> str:
    charge = next((step for step in steps if step.name == "charge_payment"), None)
    if charge is None or charge.state in ("pending", "skipped", "refused", "failed"):
        return _("You have not been charged.")
    return ""


def _outcome(saga: SagaInstance, steps: list[StepView], logs: list[SagaStepLog], calls: list[_Call]) -> str:
    if saga.definition_name == CANCELLATION_SAGA:
        return _cancellation_outcome(saga, logs, calls)
    data = saga.context.get("input", {}) if isinstance(saga.context, dict) else {}
    if saga.status == SagaStatus.COMPLETED:
        quantity, sku, total = data.get("quantity"), data.get("sku"), data.get("total")
        if quantity and sku and total:
            # The name the customer chose from, not the SKU; a product since deleted keeps its SKU.
            product = inventory_selectors.product_names([sku]).get(sku, sku)
            # The multiplication sign is written out, not as a \N{...} escape: xgettext reads no \N escapes.
            return _("Your order is confirmed: %(quantity)s × %(product)s, paid %(total)s.") % {  # noqa: RUF001
                "quantity": quantity,
                "product": product,
                "total": format_money(total),
            }
        return _("Your order is confirmed.")
    if saga.status == SagaStatus.COMPENSATED:
        undo_order = [call.step for call in calls if call.direction == Direction.COMPENSATION]
        undone = {step.name for step in steps if step.state == "undone"}
        sentences = [_cause(saga, logs, calls)]
        for name in dict.fromkeys(undo_order):
            if name in undone and _STEP_WORDS.get(name, ("", "", ""))[2]:
                sentences.append(str(_STEP_WORDS[name][2]))
        sentences.append(_money_note(saga, steps))
        return join_sentences(sentences)
    if saga.status == SagaStatus.FAILED:
        return _on_hold_outcome(saga, steps, calls)
    return ""


def _items(order_id: uuid.UUID | str | None) -> str:
    """The order's lines in words (quantity, a multiplication sign, the name the customer chose from)."""
    order = order_selectors.order_get(order_id) if order_id else None
    if order is None:
        return ""
    lines = list(order.lines.all())
    names = inventory_selectors.product_names(line.sku for line in lines)
    return ", ".join(f"{line.quantity} \N{MULTIPLICATION SIGN} {names.get(line.sku, line.sku)}" for line in lines)


def _cancellation_outcome(saga: SagaInstance, logs: list[SagaStepLog], calls: list[_Call]) -> str:
    """A finished cancellation in the customer's words: what came back to them, or why the order stands."""
    results = saga.context.get("results", {}) if isinstance(saga.context, dict) else {}
    if saga.status == SagaStatus.COMPLETED:
        sentences = [_("Your order is cancelled.")]
        refunded = to_money((results.get("refund_payment") or {}).get("refunded") or 0)
        if refunded > 0:
            sentences.append(_("%(amount)s was refunded to you.") % {"amount": format_money(refunded)})
        items = _items(saga.business_key)
        if items:
            sentences.append(_("Back in stock: %(items)s.") % {"items": items})
        return join_sentences(sentences)
    if saga.status == SagaStatus.COMPENSATED:
        sentences = [_("Your order was not cancelled: it stays confirmed as it was, and nothing was refunded.")]
        refused = next((c for c in calls if c.direction == Direction.FORWARD and c.status == StepStatus.REFUSED), None)
        if refused is not None:
            message = note_in_language(str(refused.result.get("message", ""))).strip().rstrip(".。")
            if message:
                sentences.append(
                    _("%(step)s was declined: %(message)s.") % {"step": _label(refused.step), "message": message}
                )
            else:
                sentences.append(_("%(step)s was declined.") % {"step": _label(refused.step)})
        elif any(log.direction == Direction.OPERATOR and log.action == "compensate" for log in logs):
            sentences.append(_("Our staff stopped the cancellation."))
        return join_sentences(sentences)
    if saga.status == SagaStatus.FAILED:
        if saga.resolved_at is not None:
            return _(
                "Something went wrong while cancelling this order and our team has dealt with it. "
                "The balance shown on the order form is where your money stands."
            )
        refund = _effect([call for call in calls if call.step == "refund_payment"])
        if refund in (_Effect.TAKEN, _Effect.UNSURE):
            next_step = _(
                "Something went wrong while cancelling your order. Our team has been alerted and will finish "
                "cancelling it."
            )
        else:
            next_step = _(
                "Something went wrong while cancelling your order. Our team has been alerted and will either "
                "finish cancelling it or keep your order as it was."
            )
        money = {
            _Effect.TAKEN: _("Your payment has been refunded."),
            _Effect.UNSURE: _("We could not confirm whether your refund went through; if it did not, it will."),
        }.get(refund, _("Your payment has not been refunded yet."))
        return join_sentences((next_step, money, _("You do not need to do anything.")))
    return ""


class _Effect(StrEnum):
    """What one participant call left behind, as far as the log can tell."""

    NONE = "none"
    TAKEN = "taken"
    UNDONE = "undone"
    UNDO_STUCK = "undo_stuck"
    UNSURE = "unsure"


def _effect(calls: list[_Call]) -> _Effect:
    forward = [call for call in calls if call.direction == Direction.FORWARD]
    undo = [call for call in calls if call.direction == Direction.COMPENSATION]
    if not forward:
        return _Effect.NONE
    # An attempt whose answer never came back may still have taken effect.
    taken = forward[-1].status in (StepStatus.SUCCEEDED, StepStatus.RECORDED)
    unsure = not taken and any(call.status in (*_PROBLEM, StepStatus.RUNNING) for call in forward)
    if undo and undo[-1].status == StepStatus.SUCCEEDED:
        return _Effect.NONE if undo[-1].result.get("empty") else _Effect.UNDONE
    if taken:
        return _Effect.UNDO_STUCK if undo else _Effect.TAKEN
    return _Effect.UNSURE if unsure else _Effect.NONE


def _on_hold_outcome(saga: SagaInstance, steps: list[StepView], calls: list[_Call]) -> str:
    """A FAILED saga in the customer's words: where their money and stock stand, and what happens next.

    Read from the step log as it stands. Once staff have marked the order resolved they may
    have set things right by hand, which the log does not show, so the page then says only that.
    """
    if saga.resolved_at is not None:
        return _(
            "Something went wrong with this order and our team has dealt with it. "
            "The balance shown on the order form is where your money stands."
        )
    state = {step.name: step.state for step in steps}
    cancelling = any(step.state in ("undone", "undoing", "undo_failed") for step in steps) or (
        style_of(saga).runs_steps and saga.direction == Direction.COMPENSATION
    )
    if cancelling:
        next_step = _(
            "Something went wrong with this order. Our team has been alerted and will finish cancelling it: "
            "any payment taken will be refunded and any items held will be released."
        )
    elif state.get("approve_order") == "done":
        next_step = _("Something went wrong with this order. Our team has been alerted and will complete it.")
    else:
        next_step = _(
            "Something went wrong with this order. Our team has been alerted and will either complete it or "
            "cancel it and refund any payment taken."
        )
    total = saga.context.get("input", {}).get("total", "") if isinstance(saga.context, dict) else ""
    total = format_money(total) if total else ""
    money = {
        _Effect.NONE: _("You have not been charged."),
        _Effect.TAKEN: _("You have been charged %(total)s.") % {"total": total},
        _Effect.UNDONE: _("Your payment was refunded."),
        _Effect.UNDO_STUCK: _("You have been charged %(total)s and the refund has not gone through yet.")
        % {"total": total},
        _Effect.UNSURE: _("We could not confirm whether your payment went through; if it did, it will be refunded."),
    }
    stock = {
        _Effect.NONE: _("No items were reserved for you."),
        _Effect.TAKEN: _("Your items are held for this order."),
        _Effect.UNDONE: _("The items reserved for you were released."),
        _Effect.UNDO_STUCK: _("Your items are still held for this order: releasing them has not gone through yet."),
        _Effect.UNSURE: _("We could not confirm whether your items were reserved."),
    }
    by_step: dict[str, list[_Call]] = {}
    for call in calls:
        by_step.setdefault(call.step, []).append(call)
    handed_over = state.get("commit_stock") == "done"
    return join_sentences(
        (
            next_step,
            money[_effect(by_step.get("charge_payment", []))],
            _("Your items have been handed to the warehouse.")
            if handed_over
            else stock[_effect(by_step.get("reserve_stock", []))],
            _("You do not need to do anything."),
        )
    )


def saga_progress(saga: SagaInstance) -> SagaProgress:
    """The customer's view of one saga: steps with their state, percent done and the outcome."""
    logs = list(saga.steps.order_by("started_at", "id"))
    calls = _calls(logs)
    by_step: dict[str, list[_Call]] = {}
    for call in calls:
        by_step.setdefault(call.step, []).append(call)
    steps = [_step_view(name, saga, by_step.get(name, [])) for name in _step_names(saga, calls)]
    steps = _with_choreography_in_flight(saga, steps)
    return SagaProgress(
        saga_id=str(saga.pk),
        order_id=str(saga.business_key or ""),
        status=saga.status,
        tone=_order_status_during(saga).lower(),
        customer_status=str(_CUSTOMER_STATUS.get(_order_status_during(saga), saga.status)),
        terminal=saga.is_terminal,
        percent=_percent(saga, steps),
        headline=_headline(saga, steps),
        outcome=_outcome(saga, steps, logs, calls),
        steps=tuple(steps),
    )
