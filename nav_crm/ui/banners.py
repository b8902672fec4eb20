"""Banners shown above every page's content, contributed by other apps.

A banner is a callable taking the request and returning HTML (already escaped, e.g. from
``render_to_string``) or None when it has nothing to say for this request. The later
assisted setup ("Connect to Dynamics 365") registers its banner here from its
``AppConfig.ready()``; base.html renders them in its ``page_banners`` block.
"""

from collections.abc import Callable

from django.http import HttpRequest
from django.utils.safestring import SafeString

Banner = Callable[[HttpRequest], SafeString | None]

_banners: list[Banner] = []


def register_banner(banner: Banner) -> None:
    if banner not in _banners:
        _banners.append(banner)


def banners_for(request: HttpRequest) -> list[SafeString]:
    return [html for banner in _banners if (html := banner(request))]
