import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the demo superuser for a local `make run` if it does not exist yet."

    def handle(self, **options):
        username = os.environ.get("DEMO_USER", "demo")
        password = os.environ.get("DEMO_PASSWORD", "kpitrack-demo")
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            User.objects.create_superuser(username=username, email="", password=password)
        elif not user.check_password(password):
            self.stdout.write(f"Demo user {username!r} exists with a changed password; left as is.")
            return
        self.stdout.write(f"Demo login: {username} / {password}")
