from __future__ import annotations

from django import forms

from moderation.models import ReportReason
from moderation.services import NOTE_MAX_LENGTH


class ReportForm(forms.Form):
    reason = forms.ChoiceField(
        label="What is wrong with it?", choices=ReportReason.choices, widget=forms.RadioSelect,
        error_messages={"required": "Choose a reason.", "invalid_choice": "Choose one of the reasons."},
    )  # fmt: skip
    note = forms.CharField(
        label="Anything our team should know (optional)",
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class StaffNoteForm(forms.Form):
    """The optional note staff attach to an action (it goes into the audit log)."""

    note = forms.CharField(required=False, max_length=NOTE_MAX_LENGTH)
    report = forms.IntegerField(required=False, min_value=1)
