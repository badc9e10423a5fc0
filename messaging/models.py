"""Direct messages: a conversation between exactly two people, and its messages.

A pair of users has at most one conversation, stored canonically (user_low has the smaller id), so
"the conversation of A and B" is one indexed lookup from either side and can never be duplicated by
two people writing to each other at the same moment. Each side's read state is a column here
(the id of the newest message that side has read): unread = the other side's messages above it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now


class Conversation(models.Model):
    # No single-column indexes: the unique pair and the inbox indexes below start with these.
    user_low = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    user_high = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    created_at = models.DateTimeField(db_default=Now())
    # The newest message (set in the sender's transaction). Message ids grow with time and are
    # unique, so it also orders the inbox and serves as its page cursor, with no ties to break.
    last_message = models.ForeignKey("Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Id of the newest message each side has read (0: none). Only ever moves forward.
    low_last_read_id = models.BigIntegerField(default=0)
    high_last_read_id = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_low", "user_high"], name="messaging_conversation_pair_unique"),
            models.CheckConstraint(
                condition=Q(user_low__lt=F("user_high")), name="messaging_conversation_pair_ordered"
            ),
        ]
        indexes = [
            # Each person's inbox, newest conversation first, from either side of the pair.
            models.Index(fields=["user_low", "-last_message"], name="messaging_conv_low_inbox"),
            models.Index(fields=["user_high", "-last_message"], name="messaging_conv_high_inbox"),
        ]

    def __str__(self) -> str:
        return f"conversation {self.pk} of {self.user_low_id} and {self.user_high_id}"

    def has_participant(self, user_id: int) -> bool:
        return user_id in (self.user_low_id, self.user_high_id)

    def other_id(self, user_id: int) -> int:
        """The participant who is not `user_id` (who must be one of the two)."""
        return self.user_high_id if user_id == self.user_low_id else self.user_low_id

    def last_read_field(self, user_id: int) -> str:
        """The column holding `user_id`'s read state (who must be one of the two)."""
        return "low_last_read_id" if user_id == self.user_low_id else "high_last_read_id"


class Message(models.Model):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False)
    # Indexed (Django's default for a foreign key): deleting an account finds its messages by it.
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # Length is checked by the service (messaging.services.MESSAGE_MAX_LENGTH), not fixed in the schema.
    text = models.TextField()
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        indexes = [
            # A conversation's pages (newest first, ?before=<id>) and its unread counts (id > read).
            models.Index(fields=["conversation", "-id"], name="messaging_message_conv_id_desc"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="messaging_message_text_not_empty"),
        ]

    def __str__(self) -> str:
        return f"message {self.pk} in {self.conversation_id}"
