from django.apps import AppConfig


class MailcatcherConfig(AppConfig):
    name = "mailcatcher"
    verbose_name = "Mail catcher"
