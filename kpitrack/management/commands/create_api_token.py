from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from kpitrack.tokens import MAX_DAYS, api_token_create


class Command(BaseCommand):
    help = (
        "Create an API key for USER (replacing any key they had) and print it once: "
        "send it as `Authorization: Token <key>`. Only its hash is stored. The key stops "
        "working when USER's password changes, while USER is inactive, and after --days days."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        # Read as text, so a bad value gets this command's message rather than argparse's.
        parser.add_argument(
            "--days",
            metavar="N",
            help=f"the key expires N days from now (1 to {MAX_DAYS}); without it, never",
        )

    def handle(self, *, username, days=None, **options):
        if days is not None:
            days = _days(days)
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {username!r}.")
        self.stdout.write(api_token_create(user=user, days=days))


def _days(text: str) -> int:
    try:
        days = int(text.strip())
    except ValueError:
        days = 0
    if not 1 <= days <= MAX_DAYS:
        raise CommandError(f"--days {text!r}: give a whole number of days from 1 to {MAX_DAYS}.")
    return days
