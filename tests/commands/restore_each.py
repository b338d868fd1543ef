"""`manage.py restore` of each archive in a list, in this one process (a process each costs a
Django start-up each): run as

    DATABASE_URL=… MEDIA_ROOT=… python -m tests.commands.restore_each < runs.json

with runs.json `[[archive, [option, …]], …]`; prints `[["restored" | "refused", message], …]`.
Anything but a CommandError ends it with a traceback, so a test sees it."""

import io
import json
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kpitrack.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.core.management.base import CommandError

    outcomes = []
    for archive, options in json.load(sys.stdin):
        try:
            call_command("restore", archive, *options, stdout=io.StringIO())
            outcomes.append(["restored", ""])
        except CommandError as exc:
            outcomes.append(["refused", str(exc)])
    json.dump(outcomes, sys.stdout, ensure_ascii=False)
