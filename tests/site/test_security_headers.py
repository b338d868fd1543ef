"""The security headers every answer carries (docs/security-settings.md, "Headers"), and no
template with what the Content-Security-Policy refuses. tests/browser/test_csp.py checks the pages
in a browser; these checks need none."""

import re

import pytest

from tests.conftest import ROOT

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
ADDRESSES = [
    "/accounts/login/",  # a page
    "/api/v1/achievements/?year=nonsense",  # an API answer (400)
    "/no-such-page/",  # a 404
    "/accounts/login/?next=%00",  # refused at the door by our middleware (400)
]


def _policy(header: str) -> dict[str, str]:
    directives = (part.strip().split(" ", 1) for part in header.split(";") if part.strip())
    return {name: value for name, value in directives}


@pytest.mark.django_db
@pytest.mark.parametrize("address", ADDRESSES)
def test_every_answer_carries_the_security_headers(client, address):
    answer = client.get(address)
    assert _policy(answer["Content-Security-Policy"]) == POLICY
    permissions = answer["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in permissions.split(", ")
    assert answer["X-Content-Type-Options"] == "nosniff"
    assert answer["Referrer-Policy"] == "same-origin"
    assert answer["Cross-Origin-Opener-Policy"] == "same-origin"
    assert answer["X-Frame-Options"] == "DENY"


# Served templates only: reports/print.html is rendered to PDF (or a file), never sent to a
# browser, and keeps its <style> element.
NOT_SERVED = {"reports/print.html"}
REFUSED = {
    "<style> element": re.compile(r"<style[\s>]", re.I),
    "style attribute": re.compile(r"\sstyle\s*=", re.I),
    "inline <script>": re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I),
    "event handler attribute": re.compile(r"\son[a-z]+\s*=", re.I),
    "javascript: address": re.compile(r"javascript:", re.I),
}

COMMENTS = re.compile(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}|{#.*?#}", re.S)


def _templates():
    for folder in (ROOT / "templates", *ROOT.glob("*/templates"), *ROOT.glob("*/*/templates")):
        if ".venv" in folder.parts:
            continue
        for path in sorted(folder.rglob("*.html")):
            yield str(path.relative_to(folder)), path


def test_no_served_template_has_what_the_policy_refuses():
    checked, found = 0, []
    for name, path in _templates():
        if name in NOT_SERVED:
            continue
        checked += 1
        text = COMMENTS.sub("", path.read_text(encoding="utf-8"))
        found += [f"{name}: {what}" for what, pattern in REFUSED.items() if pattern.search(text)]
    assert checked > 40
    assert not found, found


@pytest.mark.django_db
def test_the_admin_history_list_renders_without_the_style_attribute(admin_client):
    """templates/simple_history/object_history_list.html replaces the package's, whose paginator
    had a style attribute; its headings are ours now, in both languages."""
    from budget.models import Agency

    nia = Agency.objects.get(code="nia")
    html = admin_client.get(f"/admin/budget/agency/{nia.pk}/history/").content.decode()
    assert 'id="change-history"' in html and "style=" not in html
    assert '<th scope="col">異動內容</th>' in html and "共 " in html
    admin_client.cookies["django_language"] = "en"
    english = admin_client.get(f"/admin/budget/agency/{nia.pk}/history/").content.decode()
    assert '<th scope="col">Changes</th>' in english
    assert re.search(r"\d+ entr(y|ies)", english)
