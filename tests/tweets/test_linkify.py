"""tweet_text.linkify: whatever a tweet contains comes out as text, plus our own links only."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from django.template import Context, Template

from tweets.text import linkify


@dataclass
class Parsed:
    """What a browser would build from the HTML: elements with attributes, and the visible text."""

    elements: list[tuple[str, dict[str, str | None]]] = field(default_factory=list)
    text: str = ""
    links: list[tuple[str | None, str]] = field(default_factory=list)  # (href, link text)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.result = Parsed()
        self._link: list[str] | None = None
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.result.elements.append((tag, dict(attrs)))
        if tag == "a":
            self._link, self._href = [], dict(attrs).get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._link is not None:
            self.result.links.append((self._href, "".join(self._link)))
            self._link = None

    def handle_data(self, data: str) -> None:
        self.result.text += data
        if self._link is not None:
            self._link.append(data)

    def handle_comment(self, data: str) -> None:
        raise AssertionError(f"a comment got through: {data!r}")

    def handle_decl(self, decl: str) -> None:
        raise AssertionError(f"a declaration got through: {decl!r}")

    def unknown_decl(self, data: str) -> None:
        raise AssertionError(f"markup got through: {data!r}")


def parse(html: str) -> Parsed:
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return parser.result


def _assert_only_our_links(parsed: Parsed) -> None:
    for tag, attrs in parsed.elements:
        assert tag == "a"
        assert set(attrs) <= {"class", "href", "title", "rel"}
        href = attrs["href"] or ""
        assert href.startswith(("http://", "https://", "HTTP://", "HTTPS://", "/tags/", "/@")), href


HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "'><iframe src=javascript:alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    "javascript:alert(document.cookie)",
    "JaVaScRiPt:alert(1) and data:text/html;base64,PHNjcmlwdD4=",
    "</p><p onclick=alert(1)>broken <b>markup",
    "<!-- comment --> <![CDATA[x]]> <!DOCTYPE html>",
    "&lt;script&gt; already escaped &amp; &#60;b&#62; &quot;",
    "<style>body{display:none}</style>",
    "\u202etxt.exe <b>right-to-left override</b>",
    "zero\u200bwidth\u200d<scr\u200bipt>",
    "\uff1cscript\uff1ealert(1)\uff1c/script\uff1e fullwidth",  # fullwidth less-than and greater-than
    "<<script>script>alert(1)<</script>/script>",
    '#tag"><script>alert(1)</script>',
    "#tag<script>",
    '@user"onmouseover="alert(1)',
    "@user<img src=x>",
    "\x00<script>\x0b",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_comes_out_as_text(text: str) -> None:
    html = str(linkify(text))
    parsed = parse(html)
    _assert_only_our_links(parsed)
    # Everything typed is shown, character for character, and nothing else.
    assert parsed.text == text
    assert "<script" not in html.lower()
    for element in ("<img", "<svg", "<iframe", "<style", "<b>"):
        assert element not in html


@pytest.mark.parametrize(
    "text",
    [
        'https://example.com/"onmouseover="alert(1)',
        "https://example.com/'onmouseover='alert(1)",
        "https://example.com/<script>alert(1)</script>",
        "https://example.com/`backtick`",
        "https://example.com/\u202egnp.exe",
        'http://x.com/"><script>alert(1)</script>',
    ],
)
def test_hostile_urls_cannot_break_out_of_the_link(text: str) -> None:
    html = str(linkify(text))
    parsed = parse(html)
    _assert_only_our_links(parsed)
    assert len(parsed.links) == 1
    href, _ = parsed.links[0]
    assert href is not None
    for char in "\"'<>`\u202e":
        assert char not in href
    assert "<script" not in html.lower()


@pytest.mark.parametrize(
    "text",
    ["javascript:alert(1)", "data:text/html,<b>x</b>", "vbscript:msgbox", "ftp://example.com/file", "//example.com"],
)
def test_only_http_and_https_become_links(text: str) -> None:
    parsed = parse(str(linkify(text)))
    assert parsed.links == []
    assert parsed.text == text


def test_query_strings_keep_their_ampersands() -> None:
    url = "https://example.com/s?q=caf%C3%A9&lang=fr&x=<y>"
    html = str(linkify(f"look: {url}"))
    parsed = parse(html)
    assert parsed.links == [("https://example.com/s?q=caf%C3%A9&lang=fr&x=", "example.com/s?q=caf%C3%A9&lang=fr&x=")]
    assert 'href="https://example.com/s?q=caf%C3%A9&amp;lang=fr&amp;x="' in html
    assert parsed.text.endswith("&lang=fr&x=<y>")


def test_a_shortened_label_never_cuts_an_escape_in_half() -> None:
    # The label is cut before escaping: '&' at the cut shows as '&', not as a broken '&am'.
    url = "https://example.com/" + "a" * 17 + "&&&&&&&&&&&&&&&&"
    html = str(linkify(url))
    parsed = parse(html)
    assert parsed.links == [(url, "example.com/" + "a" * 17 + "&" * 10 + "…")]
    assert html.endswith('">example.com/' + "a" * 17 + "&amp;" * 10 + "…</a>")


def test_urls_get_safe_rel_and_a_short_label() -> None:
    long_url = "https://www.example.com/" + "segment/" * 10
    parsed = parse(str(linkify(f"{long_url} and http://example.org/")))
    (first_href, first_text), (second_href, second_text) = parsed.links
    assert first_href == long_url
    assert first_text == ("example.com/" + "segment/" * 4)[:39] + "…"
    assert (second_href, second_text) == ("http://example.org/", "example.org")
    for tag, attrs in parsed.elements:
        assert (tag, attrs["rel"]) == ("a", "nofollow ugc noopener noreferrer")


@pytest.mark.parametrize(
    ("text", "link", "after"),
    [
        ("see https://example.com/path.", ("https://example.com/path", "example.com/path"), "."),
        ("(https://example.com/a)", ("https://example.com/a", "example.com/a"), ")"),
        ("https://example.com/?q=1!?", ("https://example.com/?q=1", "example.com/?q=1"), "!?"),
        ("«https://example.com/x»,", ("https://example.com/x", "example.com/x"), "»,"),
    ],
)
def test_trailing_punctuation_is_not_part_of_the_link(text: str, link: tuple[str, str], after: str) -> None:
    html = str(linkify(text))
    parsed = parse(html)
    assert parsed.links == [link]
    assert parsed.text.endswith(after)
    assert html.endswith("</a>" + after.replace("»", "»"))


def test_tags_and_mentions_link_to_their_pages() -> None:
    parsed = parse(str(linkify("Hi @Alice_1, try #Café and #日本語 (not #2024 nor a#b nor bob@example.com)")))
    assert parsed.links == [
        ("/@alice_1/", "@Alice_1"),
        ("/tags/caf%C3%A9/", "#Café"),
        ("/tags/%E6%97%A5%E6%9C%AC%E8%AA%9E/", "#日本語"),
    ]
    assert [attrs["class"] for _, attrs in parsed.elements] == ["tweet-mention", "tweet-tag", "tweet-tag"]


def test_no_tag_link_inside_a_url() -> None:
    parsed = parse(str(linkify("https://example.com/page#section and https://m.social/@ann")))
    assert [href for href, _ in parsed.links] == ["https://example.com/page#section", "https://m.social/@ann"]


def test_the_filter_output_is_not_escaped_twice_in_a_template() -> None:
    rendered = Template("{% load tweet_text %}<p>{{ text|linkify }}</p>").render(
        Context({"text": "<b>bold</b> & #tag"})
    )
    assert rendered == '<p>&lt;b&gt;bold&lt;/b&gt; &amp; <a class="tweet-tag" href="/tags/tag/">#tag</a></p>'


# --- Bare domains: linked as https:// (the rule is in tweets.parsing's docstring) ---------------


@pytest.mark.parametrize(
    ("text", "link", "rest"),
    [
        ("see example.org/path.", ("https://example.org/path", "example.org/path"), "."),
        ("example.com", ("https://example.com", "example.com"), ""),
        ("news on bbc.co.uk!", ("https://bbc.co.uk", "bbc.co.uk"), "!"),
        ("(bit.ly/abc)", ("https://bit.ly/abc", "bit.ly/abc"), ")"),
        # Shown as written (a URL with a scheme is shown without it, and without 'www.').
        (
            "www.example.com/a?b=1&c=2, then",
            ("https://www.example.com/a?b=1&c=2", "www.example.com/a?b=1&c=2"),
            ", then",
        ),
        # An unusual top-level domain counts when a path follows.
        ("at example.studio/x", ("https://example.studio/x", "example.studio/x"), ""),
        ("EXAMPLE.COM/Upper", ("https://EXAMPLE.COM/Upper", "EXAMPLE.COM/Upper"), ""),
        (
            "sub-domain.example.net/a#frag",
            ("https://sub-domain.example.net/a#frag", "sub-domain.example.net/a#frag"),
            "",
        ),
    ],
)
def test_bare_domains_are_linked_with_https(text: str, link: tuple[str, str], rest: str) -> None:
    html = str(linkify(text))
    parsed = parse(html)
    _assert_only_our_links(parsed)
    assert parsed.links == [link]
    assert parsed.text == text
    assert html.endswith("</a>" + str(linkify(rest)))
    for tag, attrs in parsed.elements:
        assert (tag, attrs["rel"]) == ("a", "nofollow ugc noopener noreferrer")


@pytest.mark.parametrize(
    "text",
    [
        "e.g. this, i.e. that",
        "U.S.A. and the U.K.",
        "pi is 3.14, version 1.2.3 and 192.168.0.1",
        "open file.txt and README.md",
        "Node.js/Deno and main.py/x and notes.md/y",
        "Mr.Smith went to St.Louis",
        "Thanks.Me too. Log.In here. Join.Us now",
        "the end.Start again",
        "mail bob@example.com or @ann@mastodon.social",
        "ftp://example.com/file and //example.com and x/example.com",
        "my_site.com is glued to an underscore, #example.com is a tag",
        "example.zip/file looks like a file name",
        "mastodon.social has no path and an unusual top-level domain",
        "a\u200bexample.com",  # an invisible character glues it to the word before
    ],
)
def test_words_with_dots_are_not_links(text: str) -> None:
    parsed = parse(str(linkify(text)))
    assert [href for href, _ in parsed.links if href and href.startswith("http")] == []
    assert parsed.text == text


@pytest.mark.parametrize(
    "text",
    [
        'example.com/"onmouseover="alert(1)',
        "example.com/'><img src=x onerror=alert(1)>",
        "example.com/<script>alert(1)</script>",
        "example.com/`backtick`",
        "example.com/\u202egnp.exe",
        '<a href="example.com">example.com</a>',
        "javascript:alert(1)//example.com",
        "javascript:example.com",
        "<script>example.com</script>",
        "example.com/&quot;&#34;&lt;b&gt;",
    ],
)
def test_hostile_bare_domains_stay_escaped(text: str) -> None:
    html = str(linkify(text))
    parsed = parse(html)
    _assert_only_our_links(parsed)
    assert parsed.text == text
    assert "<script" not in html.lower()
    for element in ("<img", "<b>"):
        assert element not in html
    for href, _ in parsed.links:
        assert href is not None
        assert href.startswith("https://example.com")
        for char in "\"'<>`\u202e":
            assert char not in href


def test_a_host_that_is_not_a_link_can_still_be_followed_by_a_tag() -> None:
    parsed = parse(str(linkify("see notes.md/#todo")))
    assert parsed.links == [("/tags/todo/", "#todo")]


# --- Tags: shown as written, linked to the one canonical page ---------------------------------


def test_tags_in_any_case_link_to_the_same_canonical_page() -> None:
    parsed = parse(str(linkify("#Running, #running, #RUNNING and #Cafe\u0301 #CAFÉ")))
    assert parsed.links == [
        ("/tags/running/", "#Running"),
        ("/tags/running/", "#running"),
        ("/tags/running/", "#RUNNING"),
        ("/tags/caf%C3%A9/", "#Cafe\u0301"),
        ("/tags/caf%C3%A9/", "#CAFÉ"),
    ]


def test_nothing_inside_a_bare_address_is_a_tag_or_a_mention() -> None:
    from tweets.parsing import hashtags, mentions

    text = "example.com/#frag and m.social/@ann/1 but #real @bob"
    assert hashtags(text) == ["real"]
    assert mentions(text) == ["bob"]
