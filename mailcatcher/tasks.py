from __future__ import annotations

import smtplib

from celery import shared_task

from mailcatcher import services


@shared_task(
    ignore_result=True,
    # SMTPException and socket errors are OSErrors: a server that is down, slow or throttling.
    autoretry_for=(OSError,),
    # A refused recipient or sender stays refused: retrying only hammers the server.
    dont_autoretry_for=(smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused),
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=10,
)
def deliver_mail_task(mail_id: int) -> None:
    """Queued on commit by mail_capture when MAIL_DELIVERY_BACKEND is set. Idempotent (the
    service skips a delivered mail), so a redelivered or retried task sends nothing twice."""
    services.mail_deliver(mail_id=mail_id)
