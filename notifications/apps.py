from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        # The page chrome (tweethub, the bottom layer) shows the unread badges; it cannot import this
        # app, so this app hands it the function that counts them in Postgres on a cache miss
        # (tweethub.badges).
        from notifications import selectors
        from tweethub import badges

        badges.set_counter(selectors.badge_counts_from_db)
