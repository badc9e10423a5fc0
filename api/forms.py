from __future__ import annotations

from django import forms

from api.models import Scope


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=50, help_text="To recognise it later, e.g. the script or app that uses it. 1 to 50 characters."
    )
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[Scope.READ],
        help_text="What the token may do. It never reaches your settings, captured mail or the admin panel.",
    )
