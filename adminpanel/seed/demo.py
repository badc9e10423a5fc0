"""seed_demo: the small lived-in site `make run` starts with, and its shared demo login."""

from __future__ import annotations

import bisect
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate

import redis
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction

from accounts.models import User
from adminpanel.seed.common import (
    DAY_US,
    DEMO_EMAIL_DOMAIN,
    DEMO_LOCK,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    HOUR_US,
    SECOND_US,
    DemoReport,
    Meter,
    SeedError,
    quiet,
)
from adminpanel.seed.loading import (
    UserRow,
    build_derived,
    copy_follows,
    copy_tweets,
    copy_users,
    current_us,
    existing_ids,
    insert_stats,
    inside_ms,
    moment_at,
    reserve_user_ids,
    tweet_rows,
)
from adminpanel.seed.places import demo_positions, index_positions

# --- The demo site -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Persona:
    username: str
    name: str
    bio: str
    topics: tuple[str, ...]
    fame: float = 1.0  # how much others follow them


PERSONAS = (
    Persona("maya_codes", "Maya Chen", "Backend engineer. Python, Postgres and far too much coffee.",
            ("dev", "coffee"), 5),
    Persona("tomas_rides", "Tomás Alvarez", "Bike commuter, weekend climber, spreadsheet enthusiast.",
            ("cycling", "running")),
    Persona("priya_bakes", "Priya Raman", "Pastry chef by training, sourdough evangelist by choice.", ("cooking",), 5),
    Persona("jonas_reads", "Jonas Berg", "Librarian. Currently reading three books at once, as usual.", ("books",)),
    Persona("amara_sky", "Dr Amara Okafor", "Astrophysicist. I explain the universe, one tweet at a time.",
            ("science",), 8),
    Persona("leo_frames", "Leo Rossi", "Street photographer. 35mm, mostly black and white.", ("photo", "travel"), 2),
    Persona("sofia_plants", "Sofía Torres", "Balcony gardener. 43 houseplants and counting.", ("garden",)),
    Persona("kenji_plays", "Kenji Nakamura", "Indie game dev. Pixel art, chiptunes, too many prototypes.",
            ("games", "dev")),
    Persona("nora_runs", "Nora Lindqvist", "Marathoner (slowly). Physio. Stretch your calves.", ("running",)),
    Persona("omar_design", "Omar Haddad", "Product designer. Fonts are my love language.", ("design",), 2),
    Persona("grace_notes", "Grace Kim", "Jazz pianist and part-time music teacher.", ("music",)),
    Persona("felix_travels", "Felix Wagner", "Slow travel, night trains and street food.", ("travel", "cooking"), 3),
    Persona("hana_pets", "Hana Suzuki", "Two cats, one dog, zero regrets.", ("pets",), 3),
    Persona("diego_goal", "Diego Santos", "Football, every league, every weekend.", ("football",), 4),
    Persona("elena_films", "Elena Petrova", "Film critic. Subtitles are not a barrier.", ("film", "books"), 2),
    Persona("sam_ships", "Sam Taylor", "Startup founder. Building in public, mistakes included.", ("work", "dev"), 2),
    Persona("ines_cooks", "Inês Costa", "Home cook in Lisbon. Everything tastes better with olive oil.", ("cooking",)),
    Persona("ben_builds", "Ben Walker", "Woodworking, allotment and the odd power-tool disaster.", ("garden",)),
    Persona("zoe_writes", "Zoe Martin", "Journalist. Tech, climate and the people in between.",
            ("science", "work"), 3),
    Persona("ivan_chess", "Ivan Novak", "Chess, coffee, and more chess.", ("games", "coffee")),
    Persona("lara_codes", "Lara Schmidt", "Frontend dev. CSS is a programming language, fight me.", ("dev", "design")),
    Persona("kai_sails", "Kai Hansen", "Marine biologist. Sail, surf, repeat.", ("science", "travel")),
    Persona("rosa_reads", "Rosa Garcia", "Book club host. Mysteries and big Russian novels.", ("books",)),
    Persona("yusuf_eats", "Yusuf Demir", "Food writer. I will drive an hour for good bread.",
            ("cooking", "coffee"), 2),
    Persona("chloe_draws", "Chloé Dubois", "Illustrator. Sketchbook always in my bag.", ("design", "photo")),
    Persona("mateo_music", "Mateo Silva", "Guitarist in a band you have not heard of (yet).", ("music",)),
    Persona("anika_ml", "Anika Patel", "Machine learning engineer. Data is never clean.", ("dev", "science")),
    Persona("ruth_teaches", "Ruth Adams", "Maths teacher. Yes, you will need this later.", ("science", "books")),
    Persona("wei_trails", "Wei Zhang", "Trail runner. Mountains over pavement.", ("running", "travel")),
    Persona("carla_cafe", "Carla Moreau", "Barista and latte-art competitor.", ("coffee",), 2),
    Persona("noah_pixels", "Noah Jansen", "Game artist. Collector of retro consoles.", ("games", "design")),
    Persona("mei_garden", "Mei Tanaka", "Allotment life. Tomatoes, beans, and many slugs.", ("garden", "cooking")),
    Persona("bilal_cycles", "Bilal Khan", "Bike mechanic. If it squeaks, bring it in.", ("cycling",)),
    Persona("ada_ops", "Ada Eriksson", "SRE. I keep the pagers quiet.", ("dev", "work")),
    Persona("hugo_films", "Hugo Fischer", "Projectionist at a tiny cinema.", ("film",)),
    Persona("jade_paws", "Jade Wilson", "Dog trainer. Good dogs only (all of them).", ("pets",)),
    Persona("theo_kicks", "Théo Bernard", "Sunday league striker, weekday data analyst.", ("football", "work")),
    Persona("uma_stars", "Uma Singh", "Amateur astronomer. Clear skies, please.", ("science", "photo")),
    Persona("vera_ux", "Vera Ivanova", "UX researcher. I ask 'why' for a living.", ("design", "work")),
    Persona("oscar_brews", "Oscar Larsen", "Home brewer. Coffee in the morning, something hoppier at night.",
            ("coffee", "cooking")),
)  # fmt: skip

# What people write about; "{mention}" becomes the @username of someone the author follows.
TOPIC_TWEETS: dict[str, tuple[str, ...]] = {
    "dev": (
        "Spent the morning deleting code. Best kind of productive. #python",
        "Upgraded our project to the latest Django and the test suite passed first time. Suspicious. #django #python",
        "The bug is always in the last place you look, because then you stop looking. #debugging",
        "Pair programming with {mention} today and we fixed a bug that haunted us for a week 🎉 #teamwork",
        "EXPLAIN ANALYZE is the best teacher I ever had. #postgres",
        "Wrote the test first for once. It caught the bug before I wrote the bug. #tdd",
        "Spent 20 minutes naming a variable and it's still called data2. #programming",
        "Deployed on a Friday and nothing broke. Framing this graph. #devops",
        "Code review tip: ask questions, don't give orders. Works on people too. #codereview",
        "Redis is doing the heavy lifting on our feeds and I'm here for it. #redis #webdev",
    ),
    "design": (
        "Kerning is just spacing with feelings. #typography",
        "Spent the afternoon removing features from a mockup. It got better with every delete. #design",
        "Hot take: dark mode is a colour palette, not a personality. #ux",
        "User testing today. Five people, five completely different ways to find the settings page. #uxresearch",
        "New sketchbook, who dis ✏️ #illustration",
        "If your button needs a tooltip, it needs a better label. #ux #design",
        "Big thanks to {mention} for the feedback on the new icons. Round two coming up. #design",
        "Grids are freedom, not a prison. #typography #Design",
        "The contrast checker saved me again. Accessibility isn't optional. #a11y",
        "Moodboard for the new project is 80% photos of concrete. Very on brand. #design",
    ),
    "coffee": (
        "First coffee of the day hits different when it's raining outside ☕ #coffee",
        "Dialled in the new beans: 18g in, 36g out, 28 seconds. #espresso #coffee",
        "Found a tiny café that roasts its own beans and plays vinyl. I live here now. #café",
        "Latte art practice, day 47: it's a tulip if you squint. #latteart",
        "Pour-over on a Sunday morning is a meditation. #coffee",
        "{mention} you were right about that Ethiopian roast. Blueberries. Actual blueberries. #coffee",
        "Decaf after 3pm. I am an adult now. #coffee",
        "The grinder is louder than my alarm clock and twice as effective. #Coffee",
        "Cold brew season has officially started ☀️ #coldbrew",
        "Ranking the office coffee machines, a thread nobody asked for. #coffee #wfh",
    ),
    "running": (
        "Easy 10k this morning, legs finally feel fresh again. #running",
        "Marathon training week 9: long run done, appetite unlocked. #marathon #running",
        "Rain, wind, 6am. Still went. Still glad. #running",
        "New personal best on the 5k! 21:48 🎉 #running",
        "Trail run with {mention} today. We got lost twice and it was perfect. #trailrunning",
        "Stretch your calves. That's it, that's the tweet. #running",
        "Parkrun is the best thing that ever happened to Saturday mornings. #parkrun",
        "Intervals today. I hate them while I do them and love them for the rest of the week. #running",
        "Bought new shoes and suddenly I'm a runner again. #Running",
        "Race day tomorrow. Bib pinned, shoes ready, nerves on. #marathon",
    ),
    "cycling": (
        "Commuted by bike all week. Fitter, happier, slightly damper. #cycling #bikecommute",
        "70km loop along the river today, with a headwind both ways somehow. #cycling",
        "Fixed my own puncture on the roadside for the first time. Proud. #cycling",
        "Painted lines are not infrastructure. Protected lanes are. #bikelanes",
        "Cleaned and oiled the chain. The bike is silent. I am at peace. #cycling",
        "{mention} thanks for adjusting the gears, shifting like butter now. #cycling",
        "The coffee stop halfway is the only reason I cycle. #cycling #coffee",
        "Gravel ride in the hills today, dusty and glorious. #gravel",
        "Cargo bike school run: two kids and a week of groceries. #cycling",
        "First warm morning ride of the year 🚲 #cycling",
    ),
    "cooking": (
        "Sourdough loaf number 12: finally got that open crumb 🍞 #sourdough #baking",
        "Made fresh pasta for the first time. Flour everywhere. Worth it. #cooking",
        "Sunday soup: leeks, potatoes and far too much butter. #cooking",
        "Tried {mention}'s dal recipe tonight and now I need to make it every week. #vegan #cooking",
        "Market haul: tomatoes that actually taste like tomatoes. #food",
        "My starter is three years old and more reliable than me. #sourdough",
        "Pastry tip: cold butter, cold hands, cold heart. #baking",
        "Custard tarts at home. Burnt tops are a feature. #baking #food",
        "Spent four hours on a ramen broth. Ate it in six minutes. #ramen #cooking",
        "The best kitchen tool is a sharp knife and an hour with nothing else to do. #cooking",
    ),
    "books": (
        "Finished a 900-page novel and now I don't know what to do with my evenings. #books #reading",
        "Next month's book club pick is a mystery set on a night train. Perfect. #bookclub",
        "Reading three books at once is fine as long as they're very different. Right? #reading",
        "Library haul! Due back in three weeks, realistically six. #books",
        "Re-reading a childhood favourite and it still holds up. #books",
        "{mention} what did you think of the ending? I have questions. #bookclub",
        "Poetry on the train beats doom-scrolling every time. #poetry #reading",
        "Quiet Sunday: rain outside, good book, cold tea. #reading",
        "Just added 11 books to my to-read list. I will not read them this year. #books",
        "Second-hand find: a first edition with someone's notes in the margins. #books",
    ),
    "science": (
        "Tonight Jupiter is bright and low in the east after sunset. Go outside and look up! #astronomy",
        "The sky is blue because air scatters short wavelengths more. Sunsets are red for the same reason. #science",
        "New data from the telescope came in overnight and I haven't slept. Worth it. #space #science",
        "Sea temperatures this spring are off the charts. Literally: we had to rescale the chart. #climate",
        "Explaining black holes to a class of ten-year-olds is the hardest and best part of my job. #science",
        "Clear skies at last: three hours imaging the Andromeda galaxy 🌌 #astrophotography",
        "Peer review is in. Three reviewers, four opinions. #science",
        "{mention} great thread on tides, sharing it with my students. #science",
        "Meteor shower peaks this weekend. Dark skies, warm blanket, patience. #astronomy",
        "Puzzle of the day: why does 0.999... equal 1? Answers below. #math",
    ),
    "photo": (
        "Golden hour in the old town, every corner a photograph. #photography",
        "Shot a whole roll of film today and won't see it for a week. That's the fun. #filmphotography",
        "Black and white makes rainy streets look like a movie. #streetphotography",
        "Sunset from the harbour tonight 🌅 #sunset #photography",
        "{mention} your night shots are inspiring, what lens was that? #photography",
        "Cleaned my camera sensor. The dust spot is still there. It lives there now. #photography",
        "Fog on the river this morning. Worth waking up for. #nature #photography",
        "Portrait session in the park, and the light was perfect. #portrait",
        "Every city looks better at blue hour. #photography #travel",
        "Printed my photos for the first time in years. Pixels are nice, paper is better. #photography",
    ),
    "travel": (
        "Night train to Vienna: tiny bunk, big windows, zero regrets. #travel #nighttrain",
        "Street food tour today: nine stops and one very full traveller. #travel #food",
        "Packing light is a skill. I do not have it. #travel",
        "Landed in Tokyo and went straight for a vending machine coffee. #東京 #travel",
        "Slow travel tip: stay a week in one place and you get to know the bakery staff. #slowtravel",
        "{mention} thanks for the café tip in Lisbon, it was perfect. #travel #café",
        "Mountain hut, no signal, best sleep in months. #hiking #travel",
        "The best souvenir is a visit to a local grocery store. #travel",
        "Missed my connection and found the loveliest little town by accident. #travel",
        "Ferry at sunrise, coffee in hand. The holidays have officially begun. #travel",
    ),
    "garden": (
        "First tomato of the season 🍅 I'm unreasonably proud. #gardening",
        "Repotted the monstera. It immediately sulked. #houseplants #plants",
        "Slugs ate my lettuce again. Tonight I'm going out with a torch. #gardening",
        "Seed packets sorted, spring plan drafted, soil not warm yet. Waiting is the hardest part. #gardening",
        "{mention} your balcony jungle is goals. How many plants now? #houseplants",
        "Compost is just slow magic. #gardening",
        "The propagation station on the windowsill is getting out of hand. #plants",
        "Beans climbing up everything, including the shed. #allotment",
        "Rain after a dry week and the garden smells incredible. #gardening",
        "The basil survived a whole month. New record. #plants #cooking",
    ),
    "games": (
        "Finished an indie game in one sitting and now I need to sit with my feelings. #indiegames",
        "Board game night: four friends, one game, three hours arguing about the rules. #boardgames",
        "Game jam weekend! 48 hours, one small game about a lighthouse keeper. #gamedev",
        "Dusted off the old console. Still can't beat that level. #retrogaming",
        "Chess puzzle of the day took me 20 minutes. The answer was a pawn move. It's always a pawn move. #chess",
        "{mention} rematch tonight? I've been practising. #chess",
        "Pixel art is 90% choosing the right 16 colours. #pixelart #gamedev",
        "Co-op games are a relationship test and we passed. Barely. #gaming",
        "Playtesting our prototype: players found a bug we're keeping as a feature. #gamedev",
        "Lost a rapid game because I was thinking about lunch. #chess",
    ),
    "music": (
        "Practised scales for an hour and my fingers have filed a complaint. #piano #music",
        "Playing tonight at the little bar on the corner. Come say hi! #livemusic",
        "New playlist: songs for rainy train rides. #music #playlist",
        "Found a record I'd been hunting for years at a flea market 🎶 #vinyl",
        "Jazz trio jam session. Nobody counted us in and it still worked. #jazz",
        "{mention} that chord progression you showed me is stuck in my head. #music",
        "Teaching a seven-year-old their first song on the piano is pure joy. #music",
        "Recording demos in the kitchen because it has the best reverb. #music",
        "Concert last night. My ears are ringing and I'm happy. #concerts",
        "Restrung the guitar and tuned it fourteen times. #guitar",
    ),
    "pets": (
        "The cat has claimed the new box. What came in it is irrelevant. #cats",
        "The dog learned to ring a bell when she wants to go out. Now she rings it every four minutes. #dogs",
        "Morning walk, muddy paws, happy dog. #dogs",
        "Cat schedule: sleep, judge me, sleep, demand breakfast at 5am. #cats #pets",
        "{mention} your training tips worked! He sits! Sometimes! #dogtraining",
        "Adopted a senior cat this week. She is perfect and very grumpy. #adoptdontshop #cats",
        "Puppy class graduation today 🎓🐶 #dogs",
        "The dog and the cat are finally friends. It took eight months. #pets",
        "The vet visit went fine. The cat will never forgive me. #cats",
        "Sunday afternoon: dog asleep on my feet, no plans. #dogs",
    ),
    "football": (
        "What a match! Last-minute winner and the whole pub went wild ⚽ #football",
        "Sunday league: lost 3-2, scored one, pulled a hamstring. Good day overall. #football",
        "The new manager's pressing is actually working. #football",
        "Transfer rumour season is my favourite fiction genre. #football #transfers",
        "{mention} are you watching the derby tonight? #football",
        "Away day with friends, singing all the way home. #football",
        "VAR took four minutes to decide an offside by a toenail. #var #football",
        "Sold-out stadium for the women's league tonight! #football #womensfootball",
        "My fantasy team is a disaster, as usual. #fantasyfootball",
        "Kids' training this morning. Their enthusiasm is unmatched. #football",
    ),
    "film": (
        "Rewatched a 70s classic in a tiny cinema with twelve strangers. Perfect evening. #film",
        "The best films keep you in your seat through the credits, just thinking. #movies",
        "Projected a 35mm print tonight. The sound of the projector is part of the film. #cinema",
        "Subtitles are great. That's the review. #film",
        "Festival week: 14 films in five days. Send coffee. #filmfestival",
        "{mention} we need to talk about that ending. #movies",
        "Documentary night: I'll never look at octopuses the same way again. #documentary",
        "Ranking every film I saw this year, part one. #film",
        "Horror movie marathon, lights on. #movies",
        "Best score of the year so far; I've had it on repeat all week. #filmmusic",
    ),
    "work": (
        "Remote work tip: a walk at lunch is the commute you actually need. #remotework",
        "Shipped the feature we've talked about for six months. Building in public pays off. #startup",
        "Meetings without an agenda should be emails. Emails without a point should be nothing. #productivity",
        "Interviewing this week. Be kind to the people on the other side of the table. #hiring",
        "Quarterly planning: 40 sticky notes, three priorities, one very tired team. #startup",
        "{mention} thanks for the mentoring chat today, exactly what I needed. #career",
        "Inbox zero for exactly eleven minutes. #productivity",
        "Four-day week trial, month one: more done, less tired. #futureofwork",
        "Quiet on-call week. Knock on wood. #sre #devops",
        "Wrote the postmortem: blameless and honest. We learned a lot. #sre",
    ),
}
REPLIES = (
    "{mention} this is so true 😄", "{mention} congrats!! 🎉", "{mention} saving this for later, thanks!",
    "{mention} 100% agree.", "{mention} haha, been there.", "{mention} this made my morning.",
    "{mention} wait, how did you do that?", "{mention} sending good vibes your way.", "{mention} love this!",
    "{mention} can't wait to see the next one.", "{mention} brilliant, thanks for sharing.",
    "{mention} you're on a roll this week!", "{mention} okay, now I want to try this too.",
    "{mention} that looks amazing 😍", "{mention} counting down the days!",
)  # fmt: skip
DEMO_REPLIES = 30
DEMO_BIO = "The shared demo account: look around, post, follow. Everything is reset nightly."
DEMO_DAYS = 21


def _free_usernames(candidates: Sequence[str]) -> set[str]:
    """Those of `candidates` whose username and demo email are both unused (case-insensitively)."""
    lowered = [name.lower() for name in candidates]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT lower(username), lower(email) FROM accounts_user"
            " WHERE lower(username) = ANY(%s) OR lower(email) = ANY(%s)",
            [lowered, [f"{name}@{DEMO_EMAIL_DOMAIN}" for name in lowered]],
        )
        taken = {value for row in cursor.fetchall() for value in row}
    return {
        name for name in candidates if name.lower() not in taken and f"{name.lower()}@{DEMO_EMAIL_DOMAIN}" not in taken
    }


def _demo_login_hint() -> str:
    if User.objects.filter(username__iexact=DEMO_USERNAME, is_staff=False, is_superuser=False).exists():
        return f" Demo login (unless changed): {DEMO_USERNAME} / {DEMO_PASSWORD}"
    return ""


def seed_demo(*, progress: Callable[[str], None] | None = None, random_seed: int = 7) -> DemoReport:
    """Fill an empty site with a small lived-in one: 40 people with real-sounding names and bios,
    follows among them, ~200 tweets over the last three weeks with hashtags and @mentions, and a
    shared demo account (DEMO_USERNAME / DEMO_PASSWORD) following most of them, so its home feed is
    full at once. Everyone is verified and was active recently; every active user gets a feed.
    The demo account and most people share a position around Lisbon (adminpanel.seed.places), so
    "people nearby" lists neighbours 1 to ~45 km away; the GEO index is rebuilt after the commit.

    Idempotent: does nothing (DemoReport.seeded False, with the reason) when DEMO_SEED is off or
    any account other than staff and superusers exists (so it never adds to a used site; after the
    nightly purge the next start seeds again). Two concurrent runs serialise on an advisory lock
    and the second finds the first's users. Usernames taken by staff are skipped (the demo account
    then becomes demo_user). The rows commit together; feeds, trends and the GEO index follow (a
    Redis failure there is reported, not raised: home pages fall back to SQL and rebuild their
    feeds, and "nearby" rebuilds the index).
    """
    say = progress or quiet
    if not settings.DEMO_SEED:
        return DemoReport(seeded=False, message="Demo data not seeded: DEMO_SEED is off.")
    started = time.perf_counter()
    rng = random.Random(random_seed)  # noqa: S311 - synthetic data, reproducible on purpose
    now_us = current_us()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", list(DEMO_LOCK))
        existing = User.objects.filter(is_staff=False, is_superuser=False).count()
        if existing:
            return DemoReport(
                seeded=False,
                message=f"Demo data not seeded: the site already has {existing:,} accounts." + _demo_login_hint(),
            )
        free = _free_usernames([persona.username for persona in PERSONAS] + [DEMO_USERNAME, "demo_user"])
        people = [persona for persona in PERSONAS if persona.username in free]
        demo_name = next((name for name in (DEMO_USERNAME, "demo_user") if name in free), None)
        if demo_name is None:
            raise SeedError(f"the usernames {DEMO_USERNAME} and demo_user are both taken by staff accounts")
        ids = reserve_user_ids(len(people) + 1)
        demo_id, person_ids = ids[-1], ids[:-1]
        by_id = dict(zip(person_ids, people, strict=True))
        username = {user_id: persona.username for user_id, persona in by_id.items()} | {demo_id: demo_name}

        # People: joined months ago, verified at once, seen in the last day and a half.
        seen = {user_id: now_us - rng.randrange(5 * 60 * SECOND_US, 36 * HOUR_US) for user_id in person_ids}
        seen[demo_id] = now_us - 60 * SECOND_US
        joined = {user_id: now_us - rng.randrange(60 * DAY_US, 900 * DAY_US) for user_id in ids}
        unusable = make_password(None)  # the people are scenery: only the demo account logs in
        # Their own generator, so follows and tweets stay what they were for this seed.
        positions = demo_positions(random.Random(random_seed + 1), person_ids=person_ids, demo_id=demo_id)  # noqa: S311

        def rows() -> Iterator[UserRow]:
            for user_id in ids:
                persona = by_id.get(user_id)
                lat, lon = positions.get(user_id, (None, None))
                yield UserRow(
                    id=user_id,
                    username=username[user_id],
                    name=persona.name if persona else "Demo Visitor",
                    email=f"{username[user_id].lower()}@{DEMO_EMAIL_DOMAIN}",
                    bio=persona.bio if persona else DEMO_BIO,
                    date_joined=moment_at(joined[user_id]),
                    last_active=moment_at(seen[user_id]),
                    verified_at=moment_at(joined[user_id] + rng.randrange(60, 3600) * SECOND_US),
                    password=make_password(DEMO_PASSWORD) if persona is None else unusable,
                    latitude=lat,
                    longitude=lon,
                    # Now: a GEO rebuild running elsewhere meanwhile replays changes this recent.
                    location_updated_at=moment_at(now_us) if user_id in positions else None,
                )

        meter = Meter("users", len(ids), say, "users")
        copy_users(rows(), meter)
        meter.finish()

        # Follows: people follow 8-18 others, the famous and those who share a topic more often;
        # the demo account follows most of them, and a few follow it back.
        following: dict[int, list[int]] = {}
        for user_id, persona in by_id.items():
            others = [other for other in person_ids if other != user_id]
            weights = [by_id[o].fame * (3 if set(by_id[o].topics) & set(persona.topics) else 1) for o in others]
            following[user_id] = _weighted_sample(rng, others, weights, min(len(others), rng.randint(8, 18)))
        fame = [by_id[user_id].fame for user_id in person_ids]
        following[demo_id] = _weighted_sample(rng, person_ids, fame, min(len(person_ids), 28))
        for user_id in rng.sample(person_ids, min(len(person_ids), 6)):
            following[user_id].append(demo_id)
        pairs = sorted((follower, followee) for follower, followees in following.items() for followee in followees)
        stamp = {
            pair: moment_at(rng.randint(max(joined[pair[0]], joined[pair[1]]), seen[pair[0]])).isoformat()
            for pair in pairs
        }
        lines = "".join(f"{follower}\t{followee}\t{stamp[(follower, followee)]}\n" for follower, followee in pairs)
        meter = Meter("follows", len(pairs), say, "follows")
        copy_follows(iter([(len(pairs), lines)]), meter, rows=len(pairs))
        meter.finish()

        # Tweets: every topic line once, by someone who writes about it, plus replies; spread over
        # the last three weeks, denser lately, each before its author's last visit.
        writers: dict[str, list[int]] = {}
        for user_id, persona in by_id.items():
            for topic in persona.topics:
                writers.setdefault(topic, []).append(user_id)
        drafts: list[tuple[int, str, str]] = []
        for topic, lines_of_topic in TOPIC_TWEETS.items():
            for line in lines_of_topic:
                if writers.get(topic):
                    drafts.append((rng.choice(writers[topic]), topic, line))
        for _reply in range(DEMO_REPLIES if person_ids else 0):
            drafts.append((rng.choice(person_ids), "", rng.choice(REPLIES)))
        plan: list[tuple[int, int, str]] = []
        for author, topic, line in drafts:
            # Mention someone they follow, preferably someone who writes about the same thing.
            peers = [other for other in following[author] if other in by_id and topic in by_id[other].topics]
            mentioned = rng.choice(peers or following[author] or [author])
            text = line.replace("{mention}", f"@{username[mentioned]}")
            moment = now_us - 3 * 60 * SECOND_US - int(DEMO_DAYS * DAY_US * rng.random() ** 2)
            if moment > seen[author]:
                moment = seen[author] - int((seen[author] - (now_us - DEMO_DAYS * DAY_US)) * rng.random() ** 2)
            plan.append((inside_ms(moment, rng), author, text))
        welcome = now_us - 2 * DAY_US
        plan.append((inside_ms(welcome, rng), demo_id, "Hello TweetHub 👋 Trying out the demo account. #hello"))
        plan.sort()
        meter = Meter("tweets", len(plan), say, "tweets")
        window = (plan[0][0] - SECOND_US, now_us) if plan else (now_us, now_us)
        tweets = copy_tweets(tweet_rows(plan, existing=existing_ids(*window)), meter)
        meter.finish()
        insert_stats(ids)

    feeds = 0
    note = ""
    try:
        feeds = build_derived(ids, say)
        index_positions(say)
    except redis.RedisError as error:
        note = (
            f" Feeds or the nearby index not built ({error}): home pages are served from SQL and rebuild"
            " their feeds; people nearby rebuilds its index on first use."
        )
    return DemoReport(
        seeded=True,
        message=f"Demo site seeded: {len(ids)} accounts, {len(pairs)} follows, {tweets} tweets.{note}",
        users=len(ids),
        follows=len(pairs),
        tweets=tweets,
        feeds=feeds,
        username=demo_name,
        password=DEMO_PASSWORD,
        seconds={"total": time.perf_counter() - started},
    )


def _weighted_sample(rng: random.Random, items: Sequence[int], weights: Sequence[float], count: int) -> list[int]:
    """`count` distinct items, each draw proportional to its weight among those left."""
    pool, left = list(items), list(weights)
    chosen: list[int] = []
    for _ in range(min(count, len(pool))):
        index = bisect.bisect(list(accumulate(left)), rng.random() * sum(left))
        index = min(index, len(pool) - 1)
        chosen.append(pool.pop(index))
        left.pop(index)
    return chosen
