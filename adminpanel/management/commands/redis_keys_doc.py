"""`manage.py redis_keys_doc`: write the declared Redis key families into docs/architecture.md."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from adminpanel import rediskeys


class Command(BaseCommand):
    help = "Regenerate the Redis key table of docs/architecture.md from the owners' declarations."

    def handle(self, *args: Any, **options: Any) -> None:
        doc = settings.BASE_DIR / "docs" / "architecture.md"
        text = doc.read_text()
        doc.write_text(text.replace(rediskeys.current_block(text), rediskeys.render()))
        self.stdout.write(f"wrote {len(rediskeys.FAMILIES)} key families into docs/architecture.md")
