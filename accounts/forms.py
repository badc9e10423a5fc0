"""Forms parse and validate input; the services do the writing."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation

from accounts import selectors
from accounts.models import DmPolicy, User
from accounts.services import MAX_SHARED_LATITUDE
from accounts.validators import USERNAME_MAX_LENGTH, UsernameValidator


class SignUpForm(forms.Form):
    """The first step of a sign-up: who you are and where to send the link. The password is chosen
    from the link (SignUpPasswordForm), so the address is proven before anything is created.

    A taken username is said (usernames are public: profiles); whether the address already has an
    account is not: that is for the mail to tell the address's owner (issue 17, item 9)."""

    name = forms.CharField(label="Display name", max_length=50, help_text="How your name appears on TweetHub.")
    username = forms.CharField(
        max_length=USERNAME_MAX_LENGTH,
        validators=[UsernameValidator()],
        help_text="1 to 15 letters, digits or underscores. People find you at /@username.",
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}),
    )
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        help_text="We mail you a link there to choose your password.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def clean_username(self) -> str:
        username: str = self.cleaned_data["username"].strip()
        if selectors.username_taken(username):
            raise forms.ValidationError("That username is taken.", code="taken")
        return username


class SignUpPasswordForm(forms.Form):
    """The last step of a sign-up, reached from the mailed link: the password, checked against the
    account it is for (`candidate`: the name, username and address from the link)."""

    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "autofocus": True}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, candidate: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.candidate = candidate

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", "The two passwords do not match.")
        elif password1:
            try:
                password_validation.validate_password(password1, self.candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class LoginForm(forms.Form):
    username = forms.CharField(
        label="Username or email",
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "autofocus": True}),
    )
    password = forms.CharField(
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ProfileForm(forms.Form):
    name = forms.CharField(label="Display name", max_length=50)
    bio = forms.CharField(
        max_length=160,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Up to 160 characters.",
    )
    location = forms.CharField(max_length=30, required=False, help_text="Shown as you type it, e.g. a city.")
    website = forms.URLField(max_length=200, required=False, assume_scheme="https")
    avatar = forms.FileField(
        required=False,
        help_text="JPEG, PNG, GIF or WebP, up to 2 MB and 16 megapixels. We crop it to a square.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/gif,image/webp"}),
    )
    remove_avatar = forms.BooleanField(required=False, label="Remove my current picture")
    # Not required: a form posted without it (an older page) leaves the setting as it is.
    dm_policy = forms.ChoiceField(
        label="Who can send me messages",
        choices=DmPolicy.choices,
        required=False,
        help_text="People you have written to can always answer you.",
    )

    def __init__(self, *args: Any, has_avatar: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not has_avatar:
            del self.fields["remove_avatar"]  # nothing to remove


class CoordinateField(forms.FloatField):
    """Degrees, typed: a text field (a number field in Chromium silently drops a typed decimal
    comma, turning "-0,5" into "-05", a position hundreds of kilometres off), so the comma many
    people write is read as the decimal point here instead."""

    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "spellcheck": "false"})

    def to_python(self, value: Any) -> float | None:  # type: ignore[override]  # stubs: FloatField subclasses IntegerField
        if isinstance(value, str) and value.count(",") == 1 and "." not in value:
            value = value.replace(",", ".")
        return super().to_python(value)


def _range_message(name: str, low: float, high: float, why: str = "") -> dict[str, str]:
    message = f"{name} must be between {low:g} and {high:g}{why}."
    return {"min_value": message, "max_value": message}


class LocationForm(forms.Form):
    """A position to share, typed or filled in by the browser's geolocation (static/js/location.js)."""

    latitude = CoordinateField(
        min_value=-MAX_SHARED_LATITUDE,
        max_value=MAX_SHARED_LATITUDE,
        help_text="Degrees north (negative for south), e.g. 51.51 for London.",
        error_messages=_range_message(
            "Latitude", -MAX_SHARED_LATITUDE, MAX_SHARED_LATITUDE, " (nearer the poles we cannot place anyone)"
        ),
    )
    longitude = CoordinateField(
        min_value=-180,
        max_value=180,
        help_text="Degrees east (negative for west), e.g. -0.13 for London.",
        error_messages=_range_message("Longitude", -180, 180),
    )
