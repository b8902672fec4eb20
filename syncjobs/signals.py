"""Signals of the connection, for the features built on it."""

from django.dispatch import Signal

# sender=CrmConnection; connection=the connection about to be enabled, its checks passed. A receiver prepares
# the CRM for its feature and raises ValidationError (the user's words) when it cannot: the connection then
# stays disabled.
connection_enabling = Signal()
