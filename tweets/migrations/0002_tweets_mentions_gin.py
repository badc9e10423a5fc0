"""A GIN index on Tweet.mentions, for the tweet search's "mentions an account the query names"
(tweets.search: `mentions && ARRAY(...)`), the way tweets_tags_gin serves the tag pages.

Database only, for now: the index belongs in Tweet.Meta.indexes as
`GinIndex(fields=["mentions"], name="tweets_mentions_gin")`, which another change owns. When it is
added there, its migration must be state-only (SeparateDatabaseAndState with the AddIndex in
state_operations), since this one already built it.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("tweets", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX tweets_mentions_gin ON tweets_tweet USING gin (mentions)",
            reverse_sql="DROP INDEX tweets_mentions_gin",
        ),
    ]
