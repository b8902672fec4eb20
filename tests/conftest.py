"""Project-wide fixtures. App-specific fixtures live in tests/<app>/conftest.py."""
