"""tweets.parsing: what counts as a hashtag, a mention and a URL (the rules are in its docstring)."""

from __future__ import annotations

import pytest

from tweets.parsing import MAX_TAG_LENGTH, hashtags, mentions, normalize_tag, tokens


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Lunch at the #café", ["café"]),
        ("東京 #日本語 の練習", ["日本語"]),
        ("so #naïve", ["naïve"]),
        ("#Привет мир", ["привет"]),
        # Letters plus combining marks: Python's \w alone would stop after the first letter.
        ("#हिंदी दिवस", ["हिंदी"]),
        ("#ภาษาไทย", ["ภาษาไทย"]),
        # Digits and underscores are fine inside a tag, alone they are not one.
        ("#web3 #2024goals #snake_case #_private", ["web3", "2024goals", "snake_case", "_private"]),
        ("#2024 #1 #_ #__ #1_000", []),
        # Case folding and dedupe, in order of first appearance.
        ("#Django #DJANGO #django #Python", ["django", "python"]),
        # Precomposed é and e + combining acute are one tag, stored in NFC.
        ("#CAFÉ and #cafe\u0301", ["café"]),
        # Punctuation ends a tag.
        ("#tag, #other. (#paren) #end!", ["tag", "other", "paren", "end"]),
        ("#python's best", ["python"]),
    ],
)
def test_hashtags(text: str, expected: list[str]) -> None:
    assert hashtags(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "a#b",  # inside a word
        "C# and F#",  # after a letter
        "x##double",  # '##' is no tag
        "it&#39;s &#x27;quoted&#x27; &#amp; &#nbsp;",  # HTML entities typed as text
        "https://example.com/#fragment",  # a URL fragment is part of the address
        "see HTTPS://Example.com/page#Section!",
    ],
)
def test_no_hashtag(text: str) -> None:
    assert hashtags(text) == []


def test_invisible_characters_end_a_tag() -> None:
    # Two tags that look the same must be the same tag: '#cafe' + zero-width joiner + 'x' is not
    # a different-looking 'cafex'; the tag ends at the invisible character.
    assert hashtags("#cafe\u200dx") == ["cafe"]
    assert hashtags("#love\ufe0f") == ["love"]
    assert hashtags("#a\u202eb") == ["a"]


def test_a_tag_after_a_url_still_counts() -> None:
    assert hashtags("read https://example.com/a#b then #real") == ["real"]


def test_max_tag_length() -> None:
    longest = "a" * MAX_TAG_LENGTH
    assert hashtags(f"#{longest}") == [longest]
    # Longer is not a tag at all (not a truncated one nobody wrote), and its tail is nothing either.
    assert hashtags(f"#{longest}b #ok") == ["ok"]
    # Measured after lower-casing: 'İ' lower-cases to two code points (i + U+0307).
    assert hashtags("#" + "İ" * 50) == ["i\u0307" * 50]
    assert hashtags("#" + "İ" * 51) == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Café", "café"),
        ("cafe\u0301", "café"),
        ("PYTHON", "python"),
        ("2024", None),
        ("a b", None),
        ("a/b", None),
        ("#tag", None),
        ("", None),
        ("<script>", None),
        ("a\x00", None),
        ("a" * (MAX_TAG_LENGTH + 1), None),
    ],
)
def test_normalize_tag(raw: str, expected: str | None) -> None:
    assert normalize_tag(raw) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hi @Alice and @bob_2", ["alice", "bob_2"]),
        ("@ALICE @alice @Alice", ["alice"]),
        ("(@carol), @dave: @erin.", ["carol", "dave", "erin"]),
        ("@" + "a" * 15, ["a" * 15]),
        # Not mentions: email addresses, too long, not a username, inside a URL, fediverse handles.
        ("mail bob@example.com or bob.smith@example.org", []),
        ("@" + "a" * 16, []),
        ("@ alone, @-dash, @émile", []),
        ("https://mastodon.social/@ann", []),
        ("@ann@mastodon.social", []),
        ("é@ann", []),
    ],
)
def test_mentions(text: str, expected: list[str]) -> None:
    assert mentions(text) == expected


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("go to https://example.com.", "https://example.com"),
        ("go to https://example.com/a?b=1&c=2, then", "https://example.com/a?b=1&c=2"),
        ("(see https://example.com/x)", "https://example.com/x"),
        ("https://en.wikipedia.org/wiki/Python_(language)!", "https://en.wikipedia.org/wiki/Python_(language)"),
        ("'https://example.com/q'", "https://example.com/q"),
        ("HTTP://EXAMPLE.COM/Upper?", "HTTP://EXAMPLE.COM/Upper"),
        ("“https://example.com/x”", "https://example.com/x"),
        ("«https://example.com/y»", "https://example.com/y"),
        ("链接\uff1ahttps://example.cn/页面。", "https://example.cn/页面"),  # after a fullwidth colon
        ("<https://example.com/in-brackets>", "https://example.com/in-brackets"),
        ("https://exa\u200bmple.com", "https://exa"),
    ],
)
def test_urls_end_before_trailing_punctuation(text: str, url: str) -> None:
    found = [token.value for token in tokens(text) if token.kind == "url"]
    assert found == [url]


@pytest.mark.parametrize(
    "text", ["javascript:alert(1)", "ftp://example.com", "data:text/html,hi", "http://", "https://..."]
)
def test_only_http_urls_with_something_after_the_scheme(text: str) -> None:
    assert [token for token in tokens(text) if token.kind == "url"] == []


@pytest.mark.parametrize(
    "text",
    [
        "",
        "plain",
        "#a @b https://c.d/e?f=g&h=i #2024 &#39; x@y.z",
        "#" + "x" * 300 + " tail",
        "\u202e\u200b#\ufe0f@\x00",
    ],
)
def test_tokens_give_back_the_text_exactly(text: str) -> None:
    assert "".join(token.text for token in tokens(text)) == text
