"""What the engine writes in a saga's step log and last error, and the same words in the reader's language.

The engine writes its notes in English: they are stored once and read by everyone, in the logs
too. Each note's English is written here once; the console shows a stored note in the reader's
language by finding these sentences in it and putting their translation in their place, values
kept. A participant's refusals are stored in English too (the worker speaks the site's
language); each participant registers the sentences it refuses with (`register_notes`, from its
AppConfig.ready(): the engine never imports a participant), and they are shown the same way. Any
other text (an unexpected exception's message) stays as it was written.
"""

import re
from functools import cache

from django.utils.translation import gettext, gettext_noop

LOST_ATTEMPT = gettext_noop("The worker running this attempt stopped reporting before its lease ran out.")
CUT_SHORT = gettext_noop(
    "Cut short by %(actor)s's %(action)s (%(reason)s) while it ran; an answer its worker sends later is not used."
)
DEADLINE_PASSED = gettext_noop("Deadline %(time)s UTC passed before the saga finished.")
DEADLINE_PASSED_COMPENSATING = gettext_noop("Deadline %(time)s UTC passed before the saga finished. Compensating.")
NEVER_REPORTED = gettext_noop(
    "Attempt %(attempt)s of %(step)s never reported back (worker lost) and no attempts are left."
)
HELD_PAST_LEASE = gettext_noop(
    "Worker process %(pid)s was frozen or held past its lease on saga %(saga)s: its answer (%(kind)s) came "
    "%(late)ss after the lease ran out, when another worker had taken the saga over, and is not used."
)
LEASE_LOST = gettext_noop("Lease lost before the checkpoint; outcome was %(kind)s.")
DELIVERY_CUT_SHORT = gettext_noop(
    "The worker delivering %(event)s to its services stopped before it finished (no word from it within the "
    "%(seconds)ss a task may run); the event is delivered again and the services skip what they already did."
)
STEP_TIMED_OUT = gettext_noop("step exceeded its timeout of %(seconds)ss")
COMPENSATED_BY = gettext_noop("Compensated by %(actor)s: %(reason)s")
IDLE_REDELIVERED = gettext_noop("Nothing happened for %(seconds)ss: its %(count)s event(s) were delivered again.")

_ENGINE_NOTES = (
    LOST_ATTEMPT,
    CUT_SHORT,
    DEADLINE_PASSED,
    DEADLINE_PASSED_COMPENSATING,
    NEVER_REPORTED,
    HELD_PAST_LEASE,
    LEASE_LOST,
    DELIVERY_CUT_SHORT,
    IDLE_REDELIVERED,
    COMPENSATED_BY,
    STEP_TIMED_OUT,
)
# The engine's notes and the sentences the participants registered, longest first, so a note
# that contains a shorter one is matched whole.
NOTES: list[str] = sorted(_ENGINE_NOTES, key=len, reverse=True)


def register_notes(*templates: str) -> None:
    """Show these stored sentences in the reader's language too (a participant's refusals).

    Each template is the English msgid its service raises with (marked with gettext_noop where it
    is registered), its values as %(name)s placeholders; a registered template is kept once.
    """
    global NOTES
    NOTES = sorted({*NOTES, *templates}, key=lambda template: (-len(template), template))


_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# Values whose shape is known are matched by it, so a note is not found in text that only looks like it
# (sagas/choreography/monitor.py's handler failure on an event, for one).
_SHAPES = {
    "handler": r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*",  # a service's handler: payments.charge_payment
    "event": r"[a-z]+(?:-[a-z]+)+",  # an event type: stock-reserved
}


@cache
def _pattern(template: str) -> re.Pattern[str]:
    """The note as a regular expression: its words literally, each value as a group."""
    parts, position = [], 0
    for found in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[position : found.start()]))
        if found.group(1) in _SHAPES:
            parts.append(f"(?P<{found.group(1)}>{_SHAPES[found.group(1)]})")
        elif found.start() == 0:
            # A value that opens the note (a SKU) is one word: the text before it is not the note's.
            parts.append(f"(?P<{found.group(1)}>\\S+)")
        else:
            # A value that ends the note (an operator's reason) runs to the end of the text.
            lazy = "?" if found.end() < len(template) else ""
            parts.append(f"(?P<{found.group(1)}>.+{lazy})")
        position = found.end()
    parts.append(re.escape(template[position:]))
    return re.compile("".join(parts), re.S)


def note_in_language(text: str) -> str:
    """A stored text with each engine note and registered sentence in it in the active language."""
    if not text:
        return text
    for template in NOTES:
        translated = gettext(template)
        if translated == template:
            continue  # English, or no translation: the stored words stand
        text = _pattern(template).sub(lambda match, t=translated: t % match.groupdict(), text)
    return text
