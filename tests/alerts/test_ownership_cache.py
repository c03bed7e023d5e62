"""What invalidates the ownership cache: catalog changes do, a login does not."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import User
from django.test import Client

from alerts.catalog.ownership_cache import ownership_cache_version
from fleet.models import Membership, Team


def test_a_login_does_not_invalidate_the_ownership_cache(
    make_user: Callable[..., User], client: Client
) -> None:
    user = make_user("oncall")
    before = ownership_cache_version()
    client.force_login(user)  # writes last_login, as every real login does
    user.refresh_from_db()
    assert user.last_login is not None
    assert ownership_cache_version() == before


def test_membership_and_name_changes_still_invalidate_it(
    make_user: Callable[..., User], team: Team
) -> None:
    user = make_user("lead")
    before = ownership_cache_version()
    Membership.objects.create(team=team, user=user, role=Membership.Role.LEAD)
    after_membership = ownership_cache_version()
    assert after_membership > before
    user.first_name = "Ada"  # leads are answered by name
    user.save()
    assert ownership_cache_version() > after_membership
