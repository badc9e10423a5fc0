"""What a tweet's text refers to: hashtags, mentions and links.

Parsed when a tweet is written (hashtags(), mentions(): stored on the row) and when it is shown
(tokens(): tweets.text turns them into links). Both read the same tokens, so a
tag that is stored is exactly a tag that is linked, and the other way round.

The rules (tests/tweets/test_parsing.py has an example of each):

- A hashtag is '#' then letters, combining marks, digits and underscores, with at least one letter
  before any mark. Marks matter: Hindi, Thai or Arabic words are letters plus marks, and Python's
  \\w alone would cut '#हिंदी' after its first letter. Digits and underscores only ('#2024', '#1',
  '#_') is a number or a typo, not a tag.
- A hashtag is not glued to what precedes it: 'a#b', 'C#' and '##tag' hold no tag, and neither
  does an HTML entity typed as text ('&#39;', '&#x27;', '&#nbsp;').
- Inside a URL nothing is a tag or a mention: 'https://x.com/#frag' and 'https://m.social/@ann'
  are one link each; 'frag' is not stored as a tag (it is part of an address, not a topic).
- A tag is stored and linked lower-cased and in Unicode NFC: '#Café' (precomposed é) and
  '#CAFE' + U+0301 (e + combining accent) are the same tag 'café'.
- At most MAX_TAG_LENGTH characters, counted after lower-casing (which can lengthen a word:
  'İ' becomes 'i' + U+0307). A longer run is not a tag at all: cutting it would invent a tag nobody
  wrote.
- Invisible formatting characters (zero-width space and joiners, bidi controls, soft hyphen)
  end a tag, a mention and a URL: they must not make two tags that look the same but differ, nor
  hide inside a link. Variation selectors and the grapheme joiner end a tag for the same reason.
- A mention is '@' then 1-15 of A-Za-z0-9_ (the username rule), not inside an email address
  ('bob@example.com') and not the start of something longer ('@' and 16 letters is nothing).
  Mentions of usernames that do not exist are still mentions, stored like any other (an account
  created later with that name is the one mentioned); tweets.rendering links only those of
  accounts that exist, and shows the others as written, as plain text.
- A URL is http:// or https:// (any case) up to whitespace, quotes, angle brackets, a backtick or a
  control character. Trailing punctuation ('.', ',', '!', '?', ':', ';', quotes, '…', CJK full
  stops) ends a sentence, not the URL; a closing ')' or ']' stays only when it closes one opened
  inside the URL (https://en.wikipedia.org/wiki/Python_(language)).
- A bare domain (example.org, example.org/path) is a URL too, linked as https://, when it is
  - a host: two or more dot-separated labels of ASCII letters, digits and inner hyphens, the last
    one (the top-level domain) letters only, 2 to 63 of them;
  - not glued to what precedes it: not after a letter, digit, mark, invisible formatting
    character, '@' (bob@example.com is an email address), '.', '/', ':' (inside some other
    address, ftp://example.com is not ours to link), '-', '#' or '&';
  - and either its top-level domain is one of BARE_TLDS (a short list of common ones), or a path
    follows ('/' and at least one more character) and the top-level domain is not a common file
    extension (FILE_EXTENSIONS);
  - and its top-level domain is written in lower (or upper) case: 'end.Start' is a sentence
    missing a space.
  So 'e.g.', 'i.e.', 'U.S.A.', '3.14', 'file.txt', 'README.md', 'Node.js', 'Mr.Smith' and
  'script.py/x' stay text, while 'example.com', 'bbc.co.uk', 'bit.ly/abc' and 'example.studio/x'
  are links. Only ASCII hosts: a lookalike Unicode host is not linked without its scheme.
  The path follows the URL rules above (same characters, same trailing punctuation).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from tweethub.usernames import USERNAME_REGEX

MAX_TAG_LENGTH = 100


def _class_ranges(keep: Callable[[str], bool], *, stop: int = 0x20000) -> str:
    """Regex character-class ranges for the code points below `stop` that `keep` accepts. Python's
    re has no \\p{M}; this builds such a class once, at import (~20 ms over the BMP and SMP, where
    every mark and format character we care about lives)."""
    parts: list[str] = []
    start: int | None = None
    for code in range(stop + 1):
        inside = code < stop and keep(chr(code))
        if inside and start is None:
            start = code
        elif not inside and start is not None:
            parts.append(f"\\U{start:08x}" if start == code - 1 else f"\\U{start:08x}-\\U{code - 1:08x}")
            start = None
    return "".join(parts)


def _is_mark(char: str) -> bool:
    # Variation selectors and the grapheme joiner are marks too, but invisible ones.
    return unicodedata.category(char) in {"Mn", "Mc", "Me"} and not ("\ufe00" <= char <= "\ufe0f" or char == "\u034f")


_MARKS = _class_ranges(_is_mark)
# Invisible formatting characters (zero-width space and joiners, bidi controls, soft hyphen, the
# tag characters of flag emoji): they end a URL.
_FORMAT = _class_ranges(lambda char: unicodedata.category(char) == "Cf") + "\\U000e0000-\\U000e0fff"
_WORD = f"[\\w{_MARKS}]"
# A letter: a word character that is no digit and no underscore.
_LETTER = r"[^\W\d_]"

HASHTAG = re.compile(f"(?<![\\w{_MARKS}&#])#(?P<tag>[\\d_]*{_LETTER}{_WORD}*)")
MENTION = re.compile(f"(?<![\\w{_MARKS}@])@(?P<mention>{USERNAME_REGEX})(?![\\w{_MARKS}@])")
URL = re.compile(f"\\b(?i:https?)://[^\\s<>\"'`\\x00-\\x1f\\x7f{_FORMAT}]+")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
BARE_DOMAIN = re.compile(
    f"(?<![\\w{_MARKS}{_FORMAT}@./:#&-])"
    f"(?P<host>(?:{_LABEL}\\.)+(?P<tld>[A-Za-z]{{2,63}}))(?![\\w{_MARKS}-])"
    f"(?P<path>/[^\\s<>\"'`\\x00-\\x1f\\x7f{_FORMAT}]*)?"
)
# Top-level domains linked without a path: common generic ones and the country codes people see
# most. Left out on purpose: those that read as file extensions ('.md', '.py', '.sh', '.pl') and
# the English words a missing space after a full stop would make ('Thanks.Me', 'Log.In', 'So.Is',
# 'Join.Us', 'Do.It', 'Yes.No', 'To.Be').
BARE_TLDS = frozenset({
    "com", "org", "net", "edu", "gov", "int", "io", "co", "ai", "app", "dev", "info", "biz", "xyz",
    "tech", "uk", "ca", "de", "fr", "nl", "ch", "se", "dk", "fi", "pt", "ie", "eu", "au", "nz",
    "jp", "cn", "kr", "tw", "hk", "sg", "br", "mx", "cl", "ru", "ua", "cz", "gr", "hu", "ro", "tr",
    "za", "il", "tv", "fm", "ly", "gg",
})  # fmt: skip
# Never linked bare, even before a path: file names ('Node.js/', 'main.py/'), and the '.zip' and
# '.mov' top-level domains, whose addresses are built to look like file names.
FILE_EXTENSIONS = frozenset({
    "js", "mjs", "ts", "tsx", "jsx", "py", "rb", "rs", "go", "java", "kt", "swift", "php", "pl",
    "sh", "bat", "exe", "dll", "so", "md", "txt", "rst", "html", "htm", "css", "json", "yml",
    "yaml", "toml", "xml", "csv", "log", "pdf", "png", "jpg", "jpeg", "gif", "svg", "webp", "mp3",
    "mp4", "mov", "zip", "tar", "gz", "tgz",
})  # fmt: skip
_TOKEN = re.compile(f"(?P<url>{URL.pattern})|{BARE_DOMAIN.pattern}|{HASHTAG.pattern}|{MENTION.pattern}")
# Punctuation that ends a sentence rather than a URL: ASCII, typographic (\u2019 is the closing single quote)
# and CJK (\uff0c to \uff1b are the fullwidth , ! ? : ;).
_TRAILING = frozenset(".,;:!?'\"…”\u2019»。、」』】》〉\uff0c\uff01\uff1f\uff1a\uff1b")
_CLOSERS = {")": "(", "]": "["}

Kind = Literal["text", "url", "tag", "mention"]


@dataclass(frozen=True)
class Token:
    """A piece of tweet text. `text` is exactly as written; `value` is what it points to: the URL,
    the canonical tag (no '#') or the lower-cased username (no '@'); for plain text, the text."""

    kind: Kind
    text: str
    value: str


def normalize_tag(raw: str) -> str | None:
    """The canonical form of a tag written without its '#', or None if `raw` is not a whole tag
    (so a tag page URL such as /tags/2024/ or /tags/a%20b/ is refused, not searched)."""
    match = HASHTAG.fullmatch("#" + raw)
    if match is None:
        return None
    tag = unicodedata.normalize("NFC", raw.lower())
    return tag if len(tag) <= MAX_TAG_LENGTH else None


def _trim_url(url: str) -> str:
    """Drop trailing punctuation that belongs to the sentence around the URL."""
    while url:
        last = url[-1]
        unbalanced = last in _CLOSERS and url.count(last) > url.count(_CLOSERS[last])
        if last not in _TRAILING and not unbalanced:
            break
        url = url[:-1]
    return url


def _bare_domain_is_link(tld: str, path: str) -> bool:
    """The module docstring's rule for a host written without a scheme. A top-level domain in
    mixed case ('Thanks.Me', 'end.Start') is a sentence missing its space, not an address."""
    if not (tld.islower() or tld.isupper()):
        return False
    tld = tld.lower()
    return tld in BARE_TLDS or (len(path) > 1 and tld not in FILE_EXTENSIONS)


def tokens(text: str) -> Iterator[Token]:
    """The text cut into plain text, URLs, hashtags and mentions, in order. Joining every
    `token.text` gives back `text` exactly, so rendering loses nothing."""
    position = 0
    plain_start = 0
    while (match := _TOKEN.search(text, position)) is not None:
        start, end = match.span()
        token: Token | None = None
        if match.group("url") is not None:
            url = _trim_url(match.group("url"))
            end = start + len(url)
            # 'http://' followed by punctuation only is no address.
            if re.search(r"\w", url.partition("://")[2]):
                token = Token("url", url, url)
        elif match.group("host") is not None:
            path = _trim_url(match.group("path") or "")
            if _bare_domain_is_link(match.group("tld"), path):
                end = start + len(match.group("host")) + len(path)
                token = Token("url", text[start:end], "https://" + text[start:end])
            else:
                # Not an address: what follows the host may still hold a tag or a mention.
                end = start + len(match.group("host"))
        elif match.group("mention") is not None:
            token = Token("mention", match.group(0), match.group("mention").lower())
        else:
            tag = normalize_tag(match.group("tag"))
            if tag is not None:
                token = Token("tag", match.group(0), tag)
        if token is not None:
            if plain_start < start:
                yield Token("text", text[plain_start:start], text[plain_start:start])
            yield token
            plain_start = end
        # A refused over-long tag is skipped whole, so no tail of it turns into something else.
        position = max(end, start + 1)
    if plain_start < len(text):
        yield Token("text", text[plain_start:], text[plain_start:])


def hashtags(text: str) -> list[str]:
    """Distinct canonical hashtags (no '#'), in order of first appearance."""
    return list(dict.fromkeys(token.value for token in tokens(text) if token.kind == "tag"))


def mentions(text: str) -> list[str]:
    """Distinct mentioned usernames, lower-cased (no '@'), in order of first appearance."""
    return list(dict.fromkeys(token.value for token in tokens(text) if token.kind == "mention"))
