from decimal import Decimal

from django import template
from django.utils.html import format_html_join

from nav_crm.ui import permissions
from nav_crm.ui.banners import banners_for

register = template.Library()
CENT = Decimal("0.01")


@register.simple_tag(takes_context=True)
def page_banners(context) -> str:
    request = context.get("request")
    if request is None:
        return ""
    return format_html_join("", "{}", ((html,) for html in banners_for(request)))


@register.filter
def money(value) -> str:
    """An amount with two decimals: 45 → 45.00."""
    if value is None or value == "":
        return ""
    return f"{Decimal(value).quantize(CENT):f}"


@register.filter
def quantity(value) -> str:
    """A stored quantity (five decimals) with only its significant decimals: 2.50000 → 2.5."""
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return "" if value is None else str(value)


@register.filter
def may_open(user, url) -> bool:
    """``{% if user|may_open:url %}``: link a page only for those who may open it (nav_crm.ui.permissions)."""
    return permissions.may_open(user, str(url or ""))
