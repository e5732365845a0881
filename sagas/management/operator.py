"""What the operator commands (retry_saga, compensate_saga, resume_saga) share.

Each command parses its options, calls one function of sagas.services and reports the
result; the services check the saga's state and write the audit row. A dry run calls the
same service inside transactions on every alias that are then rolled back, so it refuses
exactly where the real action would and reports the state the saga would move to, while
nothing (saga, audit row, queue row) is kept.
"""

import getpass
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connections, transaction
from django.utils.translation import gettext as _

from sagas.errors import ActionNotAllowed, SagaNotFound
from sagas.lookup import ID_HELP, saga_resolve
from sagas.models import SagaInstance, action_code_name, direction_code_name, status_code_name


def os_user() -> str:
    """The login name of whoever runs the command, for the audit record."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class _RolledBack(Exception):
    """Raised to undo a dry run."""


@contextmanager
def rolled_back() -> Iterator[None]:
    """Run the body inside a transaction on every alias, then undo all of it."""
    try:
        with ExitStack() as stack:
            for alias in connections:
                stack.enter_context(transaction.atomic(using=alias))
            yield
            raise _RolledBack
    except _RolledBack:
        pass


def describe(saga: SagaInstance) -> str:
    """One line on where the saga stands."""
    paused = _(", paused") if saga.paused else ""
    where = (
        _(" at %(step)s (%(direction)s)")
        % {"step": saga.current_step, "direction": direction_code_name(saga.direction)}
        if saga.current_step
        else ""
    )
    return f"{status_code_name(saga.status)}{where}{paused}"


def resolve_or_explain(command: BaseCommand, text: str, out: Any = None) -> SagaInstance:
    """The saga that `text` names; says (on `out`, else stdout) which id matched unless it was the saga's whole id."""
    try:
        match = saga_resolve(text)
    except SagaNotFound as exc:
        raise CommandError(str(exc)) from None
    if not match.exact_saga_id:
        (out or command.stdout).write(match.describe())
    return match.saga


class OperatorCommand(BaseCommand):
    """A command that acts on one saga with an audited reason; subclasses name the action."""

    action = ""

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("saga_id", help=ID_HELP)
        parser.add_argument("--reason", default="", help=_("Why (required): goes into the audit record."))
        parser.add_argument("--actor", default=os_user(), help=_("Who acts (default: the OS user)."))
        parser.add_argument("--dry-run", action="store_true", help=_("Say what would happen; change nothing."))

    def load(self, options: dict[str, Any]) -> SagaInstance:
        """The saga named on the command line, once the reason is known to be there."""
        if not (options["reason"] or "").strip():
            raise CommandError(
                _('--reason is required: say why you %(action)s the saga, e.g. --reason "..."')
                % {"action": action_code_name(self.action)}
            )
        return resolve_or_explain(self, options["saga_id"])

    def perform(self, service: Callable[..., SagaInstance], saga: SagaInstance, dry_run: bool, **kwargs: Any) -> str:
        """Call the service (for real, or rolled back for a dry run) and return where the saga ends up."""
        try:
            if not dry_run:
                return describe(service(saga.pk, **kwargs))
            with rolled_back():
                after = describe(service(saga.pk, **kwargs))
            return after
        except (SagaNotFound, ActionNotAllowed) as exc:
            raise CommandError(str(exc)) from None

    def report(self, saga: SagaInstance, before: str, after: str, dry_run: bool, options: dict[str, Any]) -> None:
        if dry_run:
            self.stdout.write(
                _("Dry run: would %(action)s saga %(saga)s: %(before)s -> %(after)s. Nothing was changed.")
                % {"action": action_code_name(self.action), "saga": saga.pk, "before": before, "after": after}
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                _("Saga %(saga)s: %(before)s -> %(after)s.") % {"saga": saga.pk, "before": before, "after": after}
            )
        )
        self.stdout.write(
            _("Audit record: %(action)s by %(actor)s: %(reason)s")
            % {"action": action_code_name(self.action), "actor": options["actor"], "reason": options["reason"].strip()}
        )
