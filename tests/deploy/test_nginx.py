"""deploy/nginx/kpitrack.conf run by Debian's nginx in front of kpitrack: `nginx -t`, the HTTPS
redirect, static files, and evidence sent by nginx after kpitrack's permission check
(X-Accel-Redirect). Only the host name, certificate, ports and folders are changed for the test;
every other line is the shipped file's."""

import http.client
import shutil
import socket
import ssl
import subprocess
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from performance.models import Evidence
from performance.services import result_save_draft
from tests.conftest import ROOT
from tests.performance.cast import Role, member
from tests.performance.conftest import build_workflow
from tests.performance.test_view_evidence import PDF

SITE = ROOT / "deploy" / "nginx" / "kpitrack.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

pytestmark = pytest.mark.skipif(
    not Path(NGINX).exists() or not shutil.which("openssl"),
    reason="nginx or openssl is not installed (make test installs them)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    def __init__(self, folder: Path, *, upstream: str, media: Path):
        self.folder = folder
        self.http, self.https = _free_port(), _free_port()
        self.static = folder / "staticfiles"
        (self.static / "css").mkdir(parents=True)
        (self.static / "css" / "site.css").write_text("body{color:#111}\n")
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-subj", "/CN=localhost", "-keyout", str(folder / "key.pem"),
                "-out", str(folder / "cert.pem"),
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        site = SITE.read_text()
        for old, new in [
            ("server_name kpi.example.org;", "server_name localhost;"),
            ("listen 80;", f"listen 127.0.0.1:{self.http};"),
            ("listen [::]:80;\n", ""),
            ("listen 443 ssl http2;", f"listen 127.0.0.1:{self.https} ssl http2;"),
            ("listen [::]:443 ssl http2;\n", ""),
            ("/etc/ssl/kpitrack/fullchain.pem", str(folder / "cert.pem")),
            ("/etc/ssl/kpitrack/privkey.pem", str(folder / "key.pem")),
            ("server 127.0.0.1:8000;", f"server {upstream};"),
            ("/srv/kpitrack/staticfiles/", f"{self.static}/"),
            ("/var/lib/kpitrack/media/", f"{media}/"),
        ]:
            assert old in site, f"{SITE.name} no longer has {old!r}: update this test"
            site = site.replace(old, new)
        (folder / "site.conf").write_text(site)
        # The parts of Debian's nginx.conf a site relies on; one process, in the foreground,
        # everything it writes inside the test's folder.
        (folder / "nginx.conf").write_text(
            f"""
daemon off;
master_process off;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/site.conf;
}}
"""
        )
        self.command = [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf")]

    def check(self) -> subprocess.CompletedProcess:
        return subprocess.run([*self.command, "-t"], capture_output=True, text=True)

    def __enter__(self):
        self.process = subprocess.Popen(self.command, stderr=subprocess.PIPE, text=True)
        for _attempt in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.https), timeout=1).close()
                return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(self.process.stderr.read()) from None
                time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=10)

    def get(self, path: str, *, tls=True, cookie: str | None = None):
        if tls:
            context = ssl.create_default_context(cafile=str(self.folder / "cert.pem"))
            connection = http.client.HTTPSConnection(
                "localhost", self.https, context=context, timeout=30
            )
        else:
            connection = http.client.HTTPConnection("localhost", self.http, timeout=30)
        headers = {"Cookie": cookie} if cookie else {}
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        connection.close()
        return response, body


@pytest.fixture
def nginx_folder(tmp_path):
    folder = tmp_path / "nginx"
    folder.mkdir()
    return folder


def test_the_site_passes_nginx_t_redirects_to_https_and_serves_static_files(nginx_folder, tmp_path):
    # Nothing listens upstream: these answers are nginx's own.
    site = Nginx(nginx_folder, upstream=f"127.0.0.1:{_free_port()}", media=tmp_path / "media")
    checked = site.check()
    assert checked.returncode == 0, checked.stderr
    with site:
        response, _body = site.get("/evidence/1/?x=1", tls=False)
        assert response.status == 301
        assert response.getheader("Location") == "https://localhost/evidence/1/?x=1"

        response, body = site.get("/static/css/site.css")
        assert response.status == 200
        assert body == b"body{color:#111}\n"
        assert response.getheader("Content-Type") == "text/css"
        assert response.getheader("Cache-Control") == "max-age=3600"
        assert response.getheader("X-Content-Type-Options") == "nosniff"
        assert response.getheader("Strict-Transport-Security") == "max-age=31536000"

        # The evidence folder is reachable only through kpitrack's X-Accel-Redirect.
        (tmp_path / "media" / "evidence" / "1").mkdir(parents=True)
        (tmp_path / "media" / "evidence" / "1" / "a.pdf").write_bytes(PDF)
        response, body = site.get("/protected-evidence/evidence/1/a.pdf")
        assert response.status == 404
        assert body != PDF


@pytest.mark.django_db(transaction=True)
def test_evidence_goes_out_through_nginx_only_after_the_permission_check(
    live_server, nginx_folder, alice, django_user_model, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EVIDENCE_ACCEL_REDIRECT = "/protected-evidence/"
    workflow = build_workflow(alice)
    uploader = Client()
    uploader.force_login(alice)
    name = "會議紀錄 第1季.pdf"
    url = reverse("evidence-upload", args=[workflow.count.pk, 1])
    result_save_draft(
        indicator=workflow.count,
        quarter=1,
        figures={"value": Decimal("120")},
        narrative={},
        expected_version=None,
        user=alice,
    )
    assert uploader.post(url, {"file": SimpleUploadedFile(name, PDF)}).status_code == 302
    evidence = Evidence.objects.get()

    def session_of(user) -> str:
        client = Client()
        client.force_login(user)
        return f"sessionid={client.cookies['sessionid'].value}"

    planner = member(django_user_model, workflow, Role.PLANNER)
    stranger = django_user_model.objects.create_user("stranger", "s@example.org", "pw")
    site = Nginx(nginx_folder, upstream=urlsplit(live_server.url).netloc, media=tmp_path / "media")
    with site:
        download = reverse("evidence-download", args=[evidence.pk])
        response, body = site.get(download, cookie=session_of(planner))
        assert response.status == 200
        assert body == PDF
        assert response.getheader("Content-Type") == "application/pdf"
        assert response.getheader("Content-Disposition").startswith("attachment;")
        assert "filename*=utf-8''%E6%9C%83%E8%AD%B0" in response.getheader("Content-Disposition")
        assert response.getheader("X-Content-Type-Options") == "nosniff"
        assert response.getheader("Cache-Control") == "private, no-store"
        assert response.getheader("X-Accel-Redirect") is None

        # A stored name with CJK, a space and URL characters (a file restored by hand): kpitrack
        # percent-encodes it and nginx decodes it back to that file.
        stored = Path(evidence.file.path)
        odd = stored.with_name("報告 第1季?#%.pdf")
        stored.rename(odd)
        Evidence.objects.filter(pk=evidence.pk).update(
            file=str(odd.relative_to(settings.MEDIA_ROOT))
        )
        response, body = site.get(download, cookie=session_of(planner))
        assert response.status == 200
        assert body == PDF

        response, body = site.get(download, cookie=session_of(stranger))
        assert response.status == 403
        assert PDF not in body

        # Asked for directly, the internal address is nginx's 404, whoever asks.
        response, body = site.get(
            f"/protected-evidence/{evidence.file.name}", cookie=session_of(planner)
        )
        assert response.status == 404
        assert body != PDF
