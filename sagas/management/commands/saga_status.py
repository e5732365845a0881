"""Show a saga, its status and every step attempt, compensation and operator action."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sagas.errors import SagaNotFound
from sagas.services import saga_get


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("saga_id")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            saga = saga_get(options["saga_id"])
        except SagaNotFound as exc:
            raise CommandError(str(exc)) from None
        steps = list(saga.steps.order_by("started_at", "id"))
        if options["json"]:
            self.stdout.write(json.dumps(_as_dict(saga, steps), indent=2, default=str))
            return
        self.stdout.write(f"saga      {saga.id}")
        self.stdout.write(f"type      {saga.definition_name} v{saga.definition_version} ({saga.style})")
        self.stdout.write(f"status    {saga.status}{' (paused)' if saga.paused else ''}")
        self.stdout.write(f"order     {saga.order_id}  customer {saga.customer}")
        self.stdout.write(f"step      {saga.current_step} ({saga.direction.lower()}, attempt {saga.attempt})")
        self.stdout.write(f"created   {saga.created_at:%Y-%m-%d %H:%M:%S.%f}"[:-3] + " UTC")
        if saga.finished_at:
            self.stdout.write(f"finished  {saga.finished_at:%Y-%m-%d %H:%M:%S.%f}"[:-3] + " UTC")
        if saga.last_error:
            self.stdout.write(f"error     {saga.last_error}")
        if saga.resolved_at:
            self.stdout.write(f"resolved  by {saga.resolved_by} at {saga.resolved_at:%Y-%m-%d %H:%M:%S}")
        self.stdout.write("")
        self.stdout.write(f"{'#':>3}  {'step':<16} {'direction':<13} {'try':>3}  {'status':<10} {'ms':>6}  detail")
        for number, step in enumerate(steps, 1):
            detail = step.error_message or (f"{step.action} by {step.actor}: {step.reason}" if step.actor else "")
            duration = step.duration_ms
            self.stdout.write(
                f"{number:>3}  {step.step_name:<16} {step.direction.lower():<13} {step.attempt:>3}  "
                f"{step.status:<10} {'' if duration is None else duration:>6}  {detail}"
            )


def _as_dict(saga: Any, steps: list[Any]) -> dict[str, Any]:
    return {
        "id": str(saga.id),
        "definition": saga.definition_name,
        "version": saga.definition_version,
        "style": saga.style,
        "status": saga.status,
        "paused": saga.paused,
        "order_id": str(saga.order_id) if saga.order_id else None,
        "customer": saga.customer,
        "current_step": saga.current_step,
        "direction": saga.direction,
        "attempt": saga.attempt,
        "last_error": saga.last_error,
        "created_at": saga.created_at,
        "finished_at": saga.finished_at,
        "steps": [
            {
                "step": step.step_name,
                "direction": step.direction,
                "attempt": step.attempt,
                "status": step.status,
                "started_at": step.started_at,
                "duration_ms": step.duration_ms,
                "error": step.error_message,
                "action": step.action,
                "actor": step.actor,
                "reason": step.reason,
            }
            for step in steps
        ],
    }
