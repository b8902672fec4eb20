from rest_framework.throttling import SimpleRateThrottle


class TokenRequestThrottle(SimpleRateThrottle):
    """Limits requests to the token endpoint per client address (rate: scope "api-token").

    Every request counts, authenticated or not: AnonRateThrottle would let a client that sends
    some valid credentials of its own go on guessing another user's password. The address is
    REMOTE_ADDR, or the X-Forwarded-For entry NUM_PROXIES from the right behind trusted proxies.
    """

    scope = "api-token"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
