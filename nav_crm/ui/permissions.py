"""Whether a user may open a page of the site, so that pages link only what their reader can open."""

from urllib.parse import urlsplit

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db import models
from django.urls import Resolver404, resolve


def may_view(user, model: type[models.Model]) -> bool:
    """The model's view permission: what its list and detail pages need."""
    return user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}")


def may_open(user, url: str) -> bool:
    """Whether ``user`` may open ``url``: the permissions its view asks (a class-based view with
    PermissionRequiredMixin says them); a page of another site, or a view that checks on its own, counts as yes."""
    if not url or not url.startswith("/"):
        return True
    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return False
    view_class = getattr(match.func, "view_class", None)
    if view_class is None or not issubclass(view_class, PermissionRequiredMixin):
        return True
    view = view_class()
    view.args, view.kwargs = match.args, match.kwargs
    return user.has_perms(view.get_permission_required())
