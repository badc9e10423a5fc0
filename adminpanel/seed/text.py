"""The vocabulary and tweet text of seeded accounts: names, bios, hashtags, sentences."""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable
from itertools import accumulate

# --- Vocabulary ----------------------------------------------------------------------------------

FIRST_NAMES = (
    "Ada", "Alan", "Alice", "Amara", "Ana", "Anika", "Ben", "Bilal", "Bruno", "Carla", "Chen", "Chloe", "Dana",
    "Daniel", "David", "Diego", "Elena", "Emil", "Emma", "Ethan", "Farah", "Felix", "Grace", "Hana", "Hugo",
    "Ines", "Isaac", "Ivan", "Jade", "Jamal", "Jana", "Jonas", "Julia", "Kai", "Karim", "Kenji", "Lara", "Leo",
    "Lina", "Lucas", "Maya", "Mei", "Mila", "Nadia", "Noah", "Nora", "Omar", "Oscar", "Paula", "Priya", "Rafael",
    "Rosa", "Ruth", "Sam", "Sara", "Sofia", "Tariq", "Theo", "Tomas", "Uma", "Vera", "Wei", "Yara", "Yusuf", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Adams", "Alvarez", "Andersen", "Bauer", "Becker", "Brown", "Campbell", "Chen", "Costa", "Da Silva", "Dubois",
    "Eriksson", "Fischer", "Garcia", "Gonzalez", "Haddad", "Hansen", "Hoffmann", "Ivanova", "Jansen", "Kim",
    "Kowalski", "Kumar", "Larsen", "Lee", "Lopez", "Martin", "Meyer", "Moreau", "Nakamura", "Nguyen", "Novak",
    "Okafor", "Olsen", "Park", "Patel", "Petrov", "Rossi", "Santos", "Schmidt", "Silva", "Singh", "Smith", "Suzuki",
    "Tanaka", "Taylor", "Torres", "Wagner", "Walker", "Wang", "Weber", "Williams", "Wilson", "Yamamoto", "Zhang",
)  # fmt: skip
BIOS = (
    "", "", "", "Coffee first.", "Building things on the web.", "Runner, reader, occasional baker.",
    "Opinions are my own.", "Dog person.", "Cat person.", "Learning something new every day.", "Product designer.",
    "Backend engineer.", "Student.", "Photographer on weekends.", "Here for the memes.", "Data nerd.",
    "Trying to grow tomatoes.", "Teacher.", "Cyclist.", "Music, films, long walks.", "Parent of two.",
    "Always travelling.", "Open source contributor.", "Writing a novel, slowly.",
)  # fmt: skip
# Hashtag words; their order is shuffled per seed, then popularity falls off as a Zipf law.
TAG_WORDS = (
    "python", "django", "javascript", "rust", "golang", "webdev", "devops", "opensource", "ai", "ml", "data",
    "design", "ux", "css", "linux", "coffee", "tea", "breakfast", "foodie", "baking", "sourdough", "vegan", "pizza",
    "ramen", "running", "cycling", "hiking", "yoga", "fitness", "climbing", "swimming", "football", "basketball",
    "tennis", "f1", "chess", "music", "jazz", "vinyl", "concerts", "playlist", "podcast", "books", "reading",
    "bookclub", "poetry", "writing", "photography", "filmphotography", "sunset", "nature", "travel", "roadtrip",
    "beach", "mountains", "gardening", "plants", "houseplants", "climate", "science", "space", "astronomy",
    "physics", "math", "gaming", "indiegames", "boardgames", "movies", "tv", "anime", "art", "drawing", "crafts",
    "diy", "cats", "dogs", "pets", "birds", "monday", "friday", "weekend", "tgif", "motivation", "startup",
    "productivity", "remotework", "wfh", "career", "hiring", "marketing", "news", "economy", "health", "sleep",
    "meditation", "parenting", "education", "teachers", "history", "café", "münchen", "zürich", "東京", "résumé",
)  # fmt: skip
# The long tail: word + suffix (#pythontips, #coffeelovers, ...).
TAG_SUFFIXES = ("tips", "life", "lovers", "day", "time", "community", "conf", "news", "goals", "vibes", "club", "fail")
SUBJECTS = (
    "the new release", "my morning coffee", "this week's sprint", "the train home", "our team offsite",
    "the weekend hike", "today's standup", "the last episode", "my sourdough starter", "the match tonight",
    "this book", "the new café downtown", "that conference talk", "my side project", "the rain",
    "the city marathon", "the product launch", "this playlist", "the garden", "our cat", "the deploy",
    "the code review", "the sunset", "my new keyboard", "the museum visit", "dinner with friends",
    "the bike ride", "my to-do list", "the quarterly report", "the kids' school play",
)  # fmt: skip
PREDICATES = (
    "was better than expected", "took way longer than planned", "made my day", "is all I can think about",
    "deserves more attention", "just keeps getting better", "broke in the most creative way",
    "needs a second try", "surprised everyone", "was worth the wait", "is quietly brilliant",
    "could use some love", "went sideways, as usual", "finally worked", "was a lot of fun",
    "is overrated, fight me", "taught me something", "was exactly what I needed", "is on fire today",
    "did not go as planned",
)  # fmt: skip
OPENERS = ("", "", "", "", "Honestly, ", "Okay, ", "Hot take: ", "Small win: ", "Update: ", "Not gonna lie, ")
ENDINGS = (".", ".", "!", "!", " 🙌", "...", " - who else?", "?!", " 😅", " ☕")


def _tag_vocabulary(rng: random.Random, size: int = 2000) -> list[str]:
    """Tags in popularity order: real words first, then a long tail of compounds."""
    head = list(dict.fromkeys(TAG_WORDS))
    rng.shuffle(head)
    tail = [word + suffix for word in TAG_WORDS for suffix in TAG_SUFFIXES if word.isascii()]
    rng.shuffle(tail)
    return head + tail[: max(0, size - len(head))]


class TextMaker:
    """Plausible tweet texts: a sentence, hashtags from a Zipf-like vocabulary (plus a few tags that
    are hot on a given day, so trends move), sometimes an @mention."""

    def __init__(self, rng: random.Random, mentionable: Callable[[], str]) -> None:
        self.rng = rng
        self.tags = _tag_vocabulary(rng)
        self.tag_cum = list(accumulate(1 / (rank + 2) ** 1.05 for rank in range(len(self.tags))))
        self.mentionable = mentionable
        self.hot: dict[int, list[str]] = {}

    def _tag(self, day: int) -> str:
        rng = self.rng
        if rng.random() < 0.15:
            hot = self.hot.get(day)
            if hot is None:
                hot = self.hot[day] = [self.tags[rng.randrange(20, min(400, len(self.tags)))] for _ in range(3)]
            tag = rng.choice(hot)
        else:
            tag = self.tags[bisect.bisect(self.tag_cum, rng.random() * self.tag_cum[-1])]
        # Written as people write them; stored lower-cased by the parser.
        return tag.capitalize() if rng.random() < 0.15 else tag

    def text(self, day: int) -> str:
        rng = self.rng
        opener = rng.choice(OPENERS)
        subject = rng.choice(SUBJECTS)
        sentence = f"{opener}{subject if opener else subject[0].upper() + subject[1:]} {rng.choice(PREDICATES)}"
        sentence += rng.choice(ENDINGS)
        roll = rng.random()
        count = 0 if roll < 0.3 else 1 if roll < 0.75 else 2 if roll < 0.93 else 3
        tags = list(dict.fromkeys(self._tag(day) for _ in range(count)))
        if tags:
            sentence += " " + " ".join(f"#{tag}" for tag in tags)
        roll = rng.random()
        if roll < 0.07:
            sentence = f"@{self.mentionable()} {sentence}"
        elif roll < 0.12:
            sentence += f" cc @{self.mentionable()}"
        return sentence
