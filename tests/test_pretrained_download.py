"""Downloading torchvision weights by name, offline: a resnet18 state_dict (random init, saved here) is served by
http.server on 127.0.0.1 and reached through the mirror variable (``CONVSMITH_WEIGHTS_MIRROR``); torch's hub
cache is a temporary folder (``TORCH_HOME``). The download lands in the cache whole, the template loaded from it
gives torchvision's logits, a second load needs no server, and every failure is one line that leaves nothing in
the cache.

torchvision's own file names carry the sha256 prefix of its real weights, which a test cannot serve; the success
path therefore points the weights' URL at a file name carrying the served file's own prefix (the check is the
same one)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import threading
from pathlib import Path

import pytest
import torch
import torchvision

from arch.builder import build
from arch.templates import load_template
from training.errors import ConfigError
from training.pretrained import MIRROR_ENV, load_by_position, read_weights

NAME = "ResNet18_Weights.IMAGENET1K_V1"
WEIGHTS = torchvision.models.ResNet18_Weights.IMAGENET1K_V1
TORCHVISION_FILE = WEIGHTS.url.rsplit("/", 1)[1]  # resnet18-f37072fd.pth


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder; counts the requests; ``truncate`` sends half of what it announces, then hangs up."""

    requests: list[str]
    truncate = False

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        self.requests.append(self.path)
        if not self.truncate:
            super().do_GET()
            return
        body = Path(self.directory, self.path.lstrip("/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


class Server:
    def __init__(self, folder: Path, truncate: bool = False) -> None:
        self.requests: list[str] = []
        handler = type("H", (Handler,), {"requests": self.requests, "truncate": truncate})
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler,
                                                                                         directory=str(folder)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/models"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture(scope="module")
def resnet() -> tuple[torch.nn.Module, bytes]:
    torch.manual_seed(0)
    tv = torchvision.models.resnet18(weights=None).eval()
    buf = io.BytesIO()
    torch.save(tv.state_dict(), buf)
    return tv, buf.getvalue()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


def serve(tmp_path: Path, files: dict[str, bytes], monkeypatch, truncate: bool = False) -> Server:
    """A server of ``files`` under /models, made the mirror."""
    folder = tmp_path / "www" / "models"
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    server = Server(folder.parent, truncate)
    monkeypatch.setenv(MIRROR_ENV, server.url)
    return server


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_lands_in_the_hub_cache_gives_torchvisions_logits_and_is_reused(resnet, cache, tmp_path,
                                                                                 monkeypatch) -> None:
    tv, data = resnet
    name = f"resnet18-{hashlib.sha256(data).hexdigest()[:8]}.pth"
    monkeypatch.setattr(WEIGHTS.value, "url", f"https://download.pytorch.org/models/{name}")
    server = serve(tmp_path, {name: data}, monkeypatch)
    try:
        state, where = read_weights(NAME)
    finally:
        server.close()
    assert server.requests == [f"/models/{name}"]
    assert files_in(cache) == [name] and (cache / name).read_bytes() == data  # whole, under its own name
    assert where == f"{NAME} (downloaded from {server.url}/{name} to {cache / name})"
    model = build(load_template("resnet18")).eval()
    done = load_by_position(model, state, where)
    assert not done.skipped and len(done.loaded) == len(tv.state_dict())
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(model(x), tv(x), atol=1e-5)
    # the server is gone: the second load is the cache's
    again, where = read_weights(NAME)
    assert where == f"{NAME} (hub cache {cache / name})" and server.requests == [f"/models/{name}"]
    assert all(torch.equal(again[k], v) for k, v in tv.state_dict().items())


def one_line_failure(match: str) -> str:
    with pytest.raises(ConfigError) as e:
        read_weights(NAME)
    text = str(e.value)
    assert "\n" not in text and text.startswith(f"pretrained: {NAME}: not in torch's hub cache")
    assert match in text, text
    return text


def test_a_file_that_is_not_the_one_its_name_promises_is_refused(resnet, cache, tmp_path, monkeypatch) -> None:
    _, data = resnet  # random weights served under torchvision's name: the sha256 prefix differs
    server = serve(tmp_path, {TORCHVISION_FILE: data}, monkeypatch)
    try:
        text = one_line_failure("not the f37072fd its file name promises")
    finally:
        server.close()
    assert f"sha256 {hashlib.sha256(data).hexdigest()[:8]}" in text and server.requests
    assert files_in(cache) == []  # nothing partial, nothing wrong left to be loaded later


@pytest.mark.parametrize("case", ["missing", "truncated", "not a state_dict", "no server"])
def test_a_failed_download_is_one_line_and_leaves_nothing(case, resnet, cache, tmp_path, monkeypatch) -> None:
    _, data = resnet
    junk = b"<html>a captive portal</html>"
    served = {"missing": {}, "truncated": {TORCHVISION_FILE: data}, "no server": {}}.get(case, {})
    if case == "not a state_dict":  # a name whose hash matches what is served: the content check refuses it
        name = f"resnet18-{hashlib.sha256(junk).hexdigest()[:8]}.pth"
        monkeypatch.setattr(WEIGHTS.value, "url", f"https://download.pytorch.org/models/{name}")
        served = {name: junk}
    server = serve(tmp_path, served, monkeypatch, truncate=case == "truncated")
    if case == "no server":
        server.close()
    try:
        one_line_failure({"missing": "HTTP Error 404", "truncated": f"the server sent {len(data) // 2} of "
                          f"{len(data)} bytes", "not a state_dict": f"what it sent ({len(junk)} bytes) holds no "
                          "state_dict", "no server": "Connection refused"}[case])
    finally:
        if case != "no server":
            server.close()
    assert files_in(cache) == []
    assert (case == "no server") == (server.requests == [])


def test_offline_never_asks_the_server(cache, tmp_path, monkeypatch) -> None:
    server = serve(tmp_path, {}, monkeypatch)
    try:
        with pytest.raises(ConfigError, match="downloading is off"):
            read_weights(NAME, online=False)
    finally:
        server.close()
    assert server.requests == [] and files_in(cache) == []
