from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "tokens"
    verbose_name = "API tokens"

    def ready(self) -> None:
        # Saving or deleting a token drops its cached lookup at once.
        from tokens import auth_cache  # noqa: F401
