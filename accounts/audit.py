"""The audit log: privacy-relevant actions, readable by admins.

Services call record() inside the transaction of the change, so that an
action and its entry are saved together or not at all.
"""

import logging

from accounts.models import AuditAction, AuditEntry

logger = logging.getLogger(__name__)


def record(action: AuditAction, *, actor=None, subject=None, event=None, **details) -> AuditEntry:
    """Save one entry; actor, subject and event are instances, ids or None.

    details must hold no personal data: no names, e-mail addresses or file names.
    """
    entry = AuditEntry.objects.create(
        action=action,
        actor_id=_id(actor),
        subject_id=_id(subject),
        event_id=_id(event),
        details=details,
    )
    logger.info(
        "Audit %s: %s by %s about %s in event %s", entry.id, action, entry.actor_id, entry.subject_id, entry.event_id
    )
    return entry


def _id(value):
    if value is None:
        return None
    return getattr(value, "pk", value)
