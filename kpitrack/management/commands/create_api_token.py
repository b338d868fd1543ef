from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from kpitrack.tokens import api_token_create


class Command(BaseCommand):
    help = (
        "Create an API key for USER (replacing any key they had) and print it once: "
        "send it as `Authorization: Token <key>`. Only its hash is stored."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *, username, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {username!r}.")
        self.stdout.write(api_token_create(user=user))
