from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings


class TweetForm(forms.Form):
    # No max_length and no maxlength attribute: the service owns the rule (TWEET_MAX_LENGTH, after
    # trimming) and explains it in words. A browser's maxlength would count UTF-16 units (an emoji
    # counts two) and silently cut pasted text instead of saying what is wrong.
    text = forms.CharField(
        label="What is happening?",
        strip=False,
        error_messages={"required": "Write something first."},
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Say it short…"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read per form, not at import, so a changed setting shows up everywhere at once.
        limit = settings.TWEET_MAX_LENGTH
        field = self.fields["text"]
        field.help_text = f"Up to {limit} characters. #hashtags, @mentions and links become links."
        # static/js/compose.js turns this into a live counter; without JS the help text says it.
        field.widget.attrs["data-max-length"] = str(limit)


class ReplyForm(TweetForm):
    """The reply box on a tweet's page: the same rules as a tweet (the service checks them), its own
    placeholder. The page labels it "Your reply to @name"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["text"].widget.attrs["placeholder"] = "Post your reply"
