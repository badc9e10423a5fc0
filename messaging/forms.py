from __future__ import annotations

from django import forms

from messaging.services import MESSAGE_MAX_LENGTH


class MessageForm(forms.Form):
    # No max_length and no maxlength attribute: the service owns the rule (after trimming) and
    # explains it in words; a browser's maxlength would silently cut pasted text instead.
    text = forms.CharField(
        label="Message",
        strip=False,
        error_messages={"required": "Write something first."},
        help_text=f"Up to {MESSAGE_MAX_LENGTH} characters.",
        widget=forms.Textarea(
            attrs={
                "rows": 2,
                "placeholder": "Write a message…",
                # static/js/compose.js turns this into a live counter.
                "data-max-length": str(MESSAGE_MAX_LENGTH),
            }
        ),
    )
