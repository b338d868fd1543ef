"""`make serve`: kpitrack as deployed on this machine. DEBUG off whatever .env says, every other
setting from the environment and .env; migrations and collectstatic first, then gunicorn with
kpitrack/gunicorn.conf.py (WEB_CONCURRENCY workers on PORT).

Run as `python -m kpitrack.serve`. A missing or bad setting stops it with one line naming it."""

import os
import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    # `make run` writes DEBUG=1 into .env; the environment wins over the file.
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kpitrack.settings")
    import django
    from django.core.exceptions import ImproperlyConfigured

    conf = ROOT / "kpitrack" / "gunicorn.conf.py"
    try:
        django.setup()
        # gunicorn reads its own settings when it starts: check them now, with the same message.
        runpy.run_path(str(conf))
    except ImproperlyConfigured as exc:
        print(f"make serve: cannot start: {exc}", file=sys.stderr)
        print(
            "Set it in the environment or in .env (README, 'Running as a service').",
            file=sys.stderr,
        )
        return 2
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1)
    call_command("collectstatic", interactive=False, verbosity=0)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    os.chdir(ROOT)
    os.execv(gunicorn, [str(gunicorn), "--config", str(conf)])
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main())
