from __future__ import annotations

from django.apps import AppConfig


class RecipesConfig(AppConfig):
    """The one-line recipes of docs/third-party.md, in an app of their own: a site variant
    without them (to test page injection, say) leaves this app out of INSTALLED_APPS."""

    name = "tests.realworld.recipes"
    label = "realworld_recipes"
