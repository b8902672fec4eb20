"""After putting a new key first in NAV_CRM_ENCRYPTION_KEY: re-encrypt the stored CRM secrets with it."""

from django.core.management.base import BaseCommand, CommandError

from syncjobs.connection import crypto, services


class Command(BaseCommand):
    help = "Re-encrypts the stored CRM secrets with the first key of NAV_CRM_ENCRYPTION_KEY (key rotation)."

    def handle(self, *args, **options):
        try:
            changed = services.connection_secrets_reencrypt()
        except crypto.SecretUnreadable as exc:
            raise CommandError(str(exc)) from exc
        if changed:
            self.stdout.write("The CRM secrets are now encrypted with the first key; older keys can be removed.")
        else:
            self.stdout.write("No CRM secret is stored; nothing to re-encrypt.")
