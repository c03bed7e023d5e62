"""Settings for the test suite: the real settings plus a fixed key and a fast password hasher."""

import os

os.environ.setdefault("DEBUG", "1")

from config.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The Django test client's login() calls authenticate() without a request, which django-axes
# refuses; tests of the lockout itself turn it back on with override_settings.
AXES_ENABLED = False

# Test seams (tests/support/apps.py): e.g. the pause inside an evaluation's write transaction
# that the worker fault tests use. Production settings never install this app.
INSTALLED_APPS = [*INSTALLED_APPS, "tests.support"]  # noqa: F405
