"""The test support code as a Django app, installed by config.settings_test only."""

from django.apps import AppConfig


class TestSupportConfig(AppConfig):
    name = "tests.support"
    label = "test_support"

    def ready(self) -> None:
        from tests.support import evaluation_pause

        evaluation_pause.connect()
