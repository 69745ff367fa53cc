#!/usr/bin/env python3
"""Uploads on local disk (no bucket) against daphne on PostgreSQL and Redis; prints figures.

    python bench/uploads_local.py [--uploads 5] [--presigns 200] [--confirms 5]

Three scenarios, each printed with the machine's state:
  * upload-25mib: presign, then POST the multipart form of a 25 MiB file to `uploads/local/{signed}` over
    loopback; throughput (MiB/s of the file) and daphne's peak-memory growth (VmHWM after minus before);
  * presign: latency of `POST uploads/presign` (sequential, one keep-alive connection), p50/p95/p99;
  * confirm-jpeg: latency of `POST uploads/{id}/confirm` for a 4000x3000 JPEG, which reads the file, checks
    it, opens it with Pillow and writes the 320 px WebP thumbnail.
It asserts nothing; see bench/README.md ("Uploads benchmark").
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _common import load_avg_line, one_daphne, print_machine, server_env, setup_django, software_versions
from _common import percentile_ms as ms

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/mdcreator_bench_uploads"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
EMAIL = "uploads-bench@bench.mdcreator.test"
PASSWORD = "Upload-Probe-42x"
MIB = 1024 * 1024
TARGETS = {
    "upload-25mib": "memory growth < 10 MiB and >= 100 MiB/s",
    "presign": "p95 <= 20 ms",
    "confirm-jpeg": "<= 500 ms",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=5, help="measured 25 MiB uploads (5)")
    parser.add_argument("--presigns", type=int, default=200, help="measured sequential presigns (200)")
    parser.add_argument("--confirms", type=int, default=5, help="measured confirms of a 4000x3000 JPEG (5)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--timeout", type=float, default=120.0)
    return parser.parse_args(argv)


def prepare() -> str:
    """Migrate; the bench user (with a roomy quota) and its team workspace; returns the workspace id."""
    from django.core.management import call_command

    from accounts.models import User
    from workspaces.models import Workspace
    from workspaces.services.workspaces import workspace_create

    call_command("migrate", interactive=False, verbosity=0, skip_checks=True)
    user = User.objects.filter(email=EMAIL).first()
    if user is None:
        user = User.objects.create_user(email=EMAIL, password=PASSWORD, email_verified=True)
    workspace = Workspace.objects.filter(owner=user, name="Uploads bench", deleted_at__isnull=True).first()
    if workspace is None:
        workspace = workspace_create(owner=user, name="Uploads bench")
    # Every run starts with an empty quota: the bench measures uploads, not the quota check failing.
    Workspace.objects.filter(pk=workspace.pk).update(storage_used_bytes=0, storage_limit_bytes=1024 * 1024 * MIB)
    return str(workspace.pk)


def peak_rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            name, amount = line.split(":", 1)
            values[name] = int(amount.split()[0])
    return values["VmRSS"], values["VmHWM"]


def reset_peak(pid: int) -> None:
    """Reset the process's peak resident size (VmHWM) to its current size (Linux `clear_refs` 5)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError as error:
        sys.exit(f"cannot reset daphne's peak memory ({error}); run as the same user as daphne")


def jpeg_4000x3000() -> bytes:
    """A photo-like 4000x3000 JPEG (noise over a gradient, so it does not compress to nothing)."""
    from PIL import Image

    rng = random.Random(7)
    small = Image.new("RGB", (400, 300))
    small.putdata([(x * 255 // 400, y * 255 // 300, rng.randrange(256)) for y in range(300) for x in range(400)])
    image = small.resize((4000, 3000), Image.Resampling.BICUBIC)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=88)
    return out.getvalue()


class Api:
    def __init__(self, port: int, timeout: float) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.http = httpx.Client(base_url=f"{self.base}/api/v1", timeout=timeout)
        token = self.http.post("/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {token}"

    def presign(self, workspace_id: str, name: str, content_type: str, size: int) -> dict:
        response = self.http.post(
            "/uploads/presign",
            json={
                "file_name": name,
                "content_type": content_type,
                "size_bytes": size,
                "scope": "attachment",
                "workspace_id": workspace_id,
            },
        )
        if response.status_code != 200:
            sys.exit(f"presign answered {response.status_code}: {response.text[:300]}")
        return response.json()

    def upload(self, form: dict, name: str, content_type: str, stream) -> None:
        url = form["upload_url"] if form["upload_url"].startswith("http") else self.base + form["upload_url"]
        response = httpx.post(
            url, data=form["upload_fields"], files={"file": (name, stream, content_type)}, timeout=self.http.timeout
        )
        if response.status_code not in (200, 201, 204):
            sys.exit(f"upload answered {response.status_code}: {response.text[:300]}")

    def confirm(self, attachment_id: str) -> dict:
        response = self.http.post(f"/uploads/{attachment_id}/confirm")
        if response.status_code != 200:
            sys.exit(f"confirm answered {response.status_code}: {response.text[:300]}")
        return response.json()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    env = server_env(args)
    for name in ("AWS_STORAGE_BUCKET_NAME", "AWS_S3_ENDPOINT_URL"):
        env.pop(name, None)  # local disk: the embedded storage mode
    media = tempfile.mkdtemp(prefix="mdc-bench-media-")
    env["MEDIA_ROOT"] = media
    os.environ.update({key: value for key, value in env.items() if key in ("DATABASE_URL", "REDIS_URL")})
    versions = software_versions(args)
    setup_django(env)
    workspace_id = prepare()
    print_machine(versions, args)
    print(f"storage     local disk ({media})")
    print(load_avg_line("before starting"))
    with one_daphne(env, "mdc-bench-uploads-") as server, tempfile.NamedTemporaryFile(suffix=".bin") as big:
        api = Api(server.port, args.timeout)
        pid = server.process.pid
        big.write(os.urandom(25 * MIB))
        big.flush()
        # Warm-up: one small upload so every code path is imported before memory is read.
        form = api.presign(workspace_id, "warm.txt", "text/plain", 5)
        api.upload(form, "warm.txt", "text/plain", io.BytesIO(b"hello"))
        api.confirm(form["attachment_id"])

        seconds, growth = [], []
        for run in range(args.uploads):
            form = api.presign(workspace_id, f"big-{run}.pdf", "application/pdf", 25 * MIB)
            reset_peak(pid)  # earlier peaks (password hashing at sign-in) must not count
            rss_before, _ = peak_rss_kib(pid)
            with open(big.name, "rb") as stream:
                started = time.perf_counter()
                api.upload(form, f"big-{run}.pdf", "application/pdf", stream)
                seconds.append(time.perf_counter() - started)
            _, hwm_after = peak_rss_kib(pid)
            growth.append((hwm_after - rss_before) / 1024)
        print(f"\n[upload-25mib]  target: {TARGETS['upload-25mib']}")
        print(
            f"  throughput MiB/s  median {25 / statistics.median(seconds):.0f}  worst {25 / max(seconds):.0f}  "
            f"({args.uploads} uploads of 25 MiB, one at a time)"
        )
        print(
            f"  daphne peak memory growth MiB  first {growth[0]:.1f}  max {max(growth):.1f}  "
            "(VmHWM after the upload minus VmRSS before, the peak reset just before)"
        )

        latencies = []
        for run in range(args.presigns + 20):
            started = time.perf_counter()
            api.presign(workspace_id, f"p-{run}.png", "image/png", 1000)
            if run >= 20:
                latencies.append(time.perf_counter() - started)
        print(f"\n[presign]  target: {TARGETS['presign']}")
        print(
            f"  latency ms  p50 {ms(latencies, 0.5):.1f}  p95 {ms(latencies, 0.95):.1f}  p99 {ms(latencies, 0.99):.1f}"
            f"  ({args.presigns} sequential after 20 warm-up)"
        )

        photo = jpeg_4000x3000()
        confirms = []
        for run in range(args.confirms):
            form = api.presign(workspace_id, f"photo-{run}.jpg", "image/jpeg", len(photo))
            api.upload(form, f"photo-{run}.jpg", "image/jpeg", io.BytesIO(photo))
            started = time.perf_counter()
            body = api.confirm(form["attachment_id"])
            confirms.append(time.perf_counter() - started)
            if body["processing_status"] != "complete" or not body["thumbnail_url"]:
                sys.exit(f"the JPEG was not confirmed with a thumbnail: {body}")
        print(f"\n[confirm-jpeg]  target: {TARGETS['confirm-jpeg']}")
        print(
            f"  latency ms  median {statistics.median(confirms) * 1000:.0f}  max {max(confirms) * 1000:.0f}  "
            f"({args.confirms} confirms of a {len(photo) / MIB:.1f} MiB 4000x3000 JPEG, thumbnail included)"
        )
    print("\n" + load_avg_line("at the end"))


if __name__ == "__main__":
    main()
