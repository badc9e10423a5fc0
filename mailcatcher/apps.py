from django.apps import AppConfig


class MailcatcherConfig(AppConfig):
    name = "mailcatcher"
    verbose_name = "Mail catcher"

    def ready(self) -> None:
        from mailcatcher import checks  # noqa: F401 - registers the system checks
