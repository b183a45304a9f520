"""`make bench`: figures for the README, each against a baseline measured in the same run.

1. In process: engine walk, and walk + view + render, per step (median of many runs).
2. A synthetic 5,000-node algorithm against a small one with the same path length.
3. Over HTTP with wrk (two threads, 64 connections): a mid-walk step of the app against a bare
   FastAPI route rendering a Jinja2 page of the same size, both under one uvicorn worker.
4. Resident memory of the app's server before and after 100,000 requests.
5. Bytes over the wire for a first visit (gzip).

Everything runs on loopback only and stops by itself. Nothing here is a test: it prints figures.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from synthetic import synthetic_algorithm  # noqa: E402

from app.engine.loading import load_data, load_file  # noqa: E402
from app.engine.values import findings_from_json, findings_to_pairs  # noqa: E402
from app.engine.walk import walk  # noqa: E402
from app.rendering import environment, rationale  # noqa: E402
from app.urlstate import State, query_string  # noqa: E402
from app.views import build  # noqa: E402

ALGORITHM = load_file(ROOT / "algorithms" / "hypocalcemia.yaml")
# A resident part-way through: symptoms, age and the calcium results are in, magnesium is next.
MID_WALK = {
    "seizures": True,
    "laryngospasm": False,
    "tetany": False,
    "apnea": False,
    "arrhythmia_or_long_qt": False,
    "heart_failure": False,
    "jitteriness": False,
    "paresthesia": False,
    "emergency_steps_reviewed": True,
    "blood_ph": "unknown",
    "age": {"value": 2, "unit": "months"},
    "ionized_calcium": {"value": 0.78, "unit": "mmol/L"},
    "total_calcium": {"value": 1.7, "unit": "mmol/L"},
    "albumin": {"value": 38, "unit": "g/L"},
}
DURATION = int(os.environ.get("BENCH_SECONDS", "10"))


def timed(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    """Median seconds per call."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def in_process() -> dict[str, float]:
    findings = findings_from_json(
        ALGORITHM, {k: v for k, v in MID_WALK.items() if k in ALGORITHM.findings}
    )
    template = environment.get_template("walk.html")

    def step_and_render() -> None:
        step = walk(ALGORITHM, findings)
        view = build(ALGORITHM, step, State(findings), "")
        template.render(
            root="",
            static=lambda n: f"/static/{n}",
            rationale=rationale,
            view=view,
            today="2026-11-22",
        )

    step = walk(ALGORITHM, findings)
    path = len(step.trail)
    walk_s = timed(lambda: walk(ALGORITHM, findings), 2000)
    render_s = timed(step_and_render, 1000)

    # Synthetic trees with the same path length: 5,000 nodes against about 60.
    depth = max(2, path // 2)
    big = load_data(synthetic_algorithm(5000, depth), "synthetic")
    small = load_data(synthetic_algorithm(depth * 3, depth), "synthetic")
    answers = {f"f{i}": False for i in range(depth)}
    big_findings = findings_from_json(big, answers)
    small_findings = findings_from_json(small, answers)
    big_s = timed(lambda: walk(big, big_findings), 2000)
    small_s = timed(lambda: walk(small, small_findings), 2000)
    return {
        "path": path,
        "walk": walk_s,
        "render": render_s,
        "big": big_s,
        "small": small_s,
        "big_nodes": len(big.nodes),
        "small_nodes": len(small.nodes),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(target: str, port: int, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    # The app's own access log goes to standard error; keep it out of the figures' output.
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env={**os.environ, **(env or {})}, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
            return proc
        except OSError as exc:
            if getattr(exc, "code", None):  # an HTTP error still means it is up
                return proc
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{target} did not start")


def wrk(url: str, seconds: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def latency(label: str) -> float:
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        assert m, out
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert rps and total, out
    return {
        "rps": float(rps.group(1)),
        "p50": latency("50"),
        "p99": latency("99"),
        "requests": int(total.group(1)),
        "errors": int(errors.group(1)) if errors else 0,
    }


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    m = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(m.group(1)) if m else 0


def first_visit_bytes(base: str) -> tuple[int, int]:
    """Gzipped and plain bytes of the first step page and every asset it loads."""

    def fetch(url: str) -> tuple[int, bytes]:
        req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req) as r:
            body = r.read()
            plain = gzip.decompress(body) if r.headers.get("Content-Encoding") == "gzip" else body
            return len(body), plain

    wire, page = fetch(f"{base}/algorithms/hypocalcemia")
    plain_total = len(page)
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.decode()):
        size, body = fetch(base + asset.replace("&amp;", "&"))
        wire += size
        plain_total += len(body)
    return wire, plain_total


def main() -> int:
    if shutil.which("wrk") is None:
        print("wrk is not installed (make bench installs it: apt-get install wrk)")
        return 1
    figures = in_process()
    print("== In process (median per step)")
    print(
        f"  walk only, real algorithm ({figures['path']} nodes on the path): "
        f"{figures['walk'] * 1e6:.0f} µs"
    )
    print(f"  walk + view + render: {figures['render'] * 1e6:.0f} µs (target < 1000 µs)")
    ratio = figures["big"] / figures["small"]
    print(
        f"  synthetic {figures['big_nodes']} nodes: {figures['big'] * 1e6:.1f} µs; "
        f"{figures['small_nodes']} nodes, same path: {figures['small'] * 1e6:.1f} µs; "
        f"ratio {ratio:.2f} (target <= 1.2)"
    )

    mid_url = query_string(
        findings_to_pairs(
            findings_from_json(
                ALGORITHM, {k: v for k, v in MID_WALK.items() if k in ALGORITHM.findings}
            )
        )
    )
    app_port, base_port = free_port(), free_port()
    app_proc = serve("app.main:app", app_port)
    try:
        page = urllib.request.urlopen(
            f"http://127.0.0.1:{app_port}/algorithms/hypocalcemia?{mid_url}"
        ).read()
        base_proc = serve(
            "baseline:app",
            base_port,
            {"BASELINE_BYTES": str(len(page)), "PYTHONPATH": str(ROOT / "bench")},
        )
        try:
            base_url = f"http://127.0.0.1:{base_port}/page"
            app_url = f"http://127.0.0.1:{app_port}/algorithms/hypocalcemia?{mid_url}"
            wrk(base_url, 2)
            wrk(app_url, 2)
            baseline = wrk(base_url, DURATION)
            measured = wrk(app_url, DURATION)
        finally:
            base_proc.terminate()
            base_proc.wait(10)
        print(
            f"== HTTP, wrk -t2 -c64 -d{DURATION}s, one uvicorn worker each (page {len(page)} bytes)"
        )
        for name, r in (
            ("baseline (FastAPI + Jinja2 page)", baseline),
            ("mid-walk step", measured),
        ):
            print(
                f"  {name}: {r['rps']:.0f} req/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, "
                f"non-2xx/3xx {r['errors']}"
            )
        print(
            f"  ratio app/baseline: {measured['rps'] / baseline['rps']:.2f} (target >= 0.80); "
            f"p99 {measured['p99']:.1f} ms (target < 50 ms)"
        )

        before = rss_kib(app_proc.pid)
        done = 0
        while done < 100_000:
            done += int(wrk(app_url, 5)["requests"])
        after = rss_kib(app_proc.pid)
        print(
            f"== Memory over {done} requests: RSS {before / 1024:.1f} MiB -> "
            f"{after / 1024:.1f} MiB ({(after - before) / 1024:+.1f} MiB)"
        )
        wire, plain = first_visit_bytes(f"http://127.0.0.1:{app_port}")
        print(
            f"== First visit: {wire / 1024:.1f} KiB over the wire (gzip), "
            f"{plain / 1024:.1f} KiB uncompressed (target <= 60 KB)"
        )
    finally:
        app_proc.terminate()
        app_proc.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
