"""Fixtures: an image made by umoci in an OCI layout, and Debian's
docker-registry on a free loopback port, stopped after the test."""

import socket
import subprocess
import time

import pytest


def run(*args, **kwargs):
    return subprocess.run(args, check=True, capture_output=True, **kwargs)


@pytest.fixture
def layout(tmp_path):
    """`oci:PATH` of a layout holding `1.0`, a one-layer image made by umoci."""
    src = tmp_path / "src"
    run("umoci", "init", "--layout", str(src))
    run("umoci", "new", "--image", f"{src}:1.0")
    (tmp_path / "hello.txt").write_text("hello from python\n")
    run("umoci", "insert", "--rootless", "--image", f"{src}:1.0", str(tmp_path / "hello.txt"), "/hello.txt")
    return f"oci:{src}"


@pytest.fixture
def registry(tmp_path):
    """The `host:port` of a docker-registry for this test."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "registry.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {tmp_path / 'registry-data'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    process = subprocess.Popen(
        ["docker-registry", "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
