"""A GIN index on Tweet.mentions, for the tweet search's "mentions an account the query names"
(tweets.search: `mentions && ARRAY(...)`), the way tweets_tags_gin serves the tag pages."""

import django.contrib.postgres.indexes
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("tweets", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="tweet",
            index=django.contrib.postgres.indexes.GinIndex(fields=["mentions"], name="tweets_mentions_gin"),
        ),
    ]
