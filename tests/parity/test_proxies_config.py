"""Issue 24 item 6: ``Config(proxies=..., proxies_config=...)`` on both fast transports, compared with
botocore/boto3, through the parity suite's authenticating proxy (plain, and the same proxy behind TLS with
a certificate only ``proxy_ca_bundle`` trusts)."""

from __future__ import annotations

import socket
import ssl
import threading
from typing import Any

import pytest
from botocore.config import Config
from parity_harness import GET, WIRE_TRANSPORTS, CaptureServer, ProxyServer, boto3_send, send
from test_parity_wire import _self_signed

from ddbkit.transport.fast import AsyncFastTransport, FastTransport


@pytest.fixture(params=WIRE_TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    """Every row here on ddbkit's four transports and on an accelerated boto3 client (issue 27)."""
    return str(request.param)


PASSWORD = "s3cr3t-pw"


class TLSProxyServer(ProxyServer):
    """The parity suite's authenticating forward proxy, spoken to over TLS (an ``https://`` proxy)."""

    def __init__(self, certfile: str, keyfile: str) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(certfile, keyfile)
        super().__init__("alice", PASSWORD)

    def url(self, user: str, password: str) -> str:
        return f"https://{user}:{password}@127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._tls_client, args=(conn,), daemon=True).start()

    def _tls_client(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(5)
            tls = self.context.wrap_socket(conn, server_side=True)
            tls.settimeout(None)
        except (OSError, ssl.SSLError):
            conn.close()
            return
        self._client(tls)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    return _self_signed(tmp_path_factory.mktemp("proxy-tls"))


def test_http_proxy_with_proxies_config_as_botocore(capture: CaptureServer, transport: str,
                                                    tls_files: tuple[str, str]) -> None:
    """Through a plain http:// proxy the three keys change nothing, on botocore as on every transport."""
    proxy = ProxyServer("alice", PASSWORD)
    try:
        config = Config(proxies={"http": proxy.url("alice", PASSWORD)},
                        proxies_config={"proxy_ca_bundle": tls_files[0], "proxy_use_forwarding_for_https": True})
        ours, ref = send(transport, *GET, endpoint_url=capture.url, config=config), boto3_send(
            *GET, endpoint_url=capture.url, config=config)
        assert ours.ok and ref.ok, (ours.error, ref.error)
        posts = [line for line in proxy.lines if line.startswith("POST ")]
        assert len(posts) == 2 and all(p.startswith(f"POST {capture.url}/") for p in posts), proxy.lines
        assert len(capture.requests) == 2
    finally:
        proxy.close()


def test_https_proxy_trusted_through_proxy_ca_bundle(capture: CaptureServer, transport: str,
                                                     tls_files: tuple[str, str]) -> None:
    """An https:// proxy with a self-signed certificate is used once ``proxy_ca_bundle`` trusts it, on every
    transport as on boto3. Without it the fast transports refuse the proxy; botocore does not verify an
    https:// proxy at all for an http:// endpoint (its connection's ``cert_reqs`` is CERT_NONE then)."""
    proxy = TLSProxyServer(*tls_files)
    try:
        proxies = {"http": proxy.url("alice", PASSWORD)}
        untrusted = Config(proxies=proxies)
        ours = send(transport, *GET, endpoint_url=capture.url, config=untrusted)
        if transport in ("fast", "fast-async"):
            assert not ours.ok and capture.requests == []
        assert boto3_send(*GET, endpoint_url=capture.url, config=untrusted).ok
        capture.requests.clear()
        trusted = Config(proxies=proxies, proxies_config={"proxy_ca_bundle": tls_files[0]})
        ours, ref = send(transport, *GET, endpoint_url=capture.url, config=trusted), boto3_send(
            *GET, endpoint_url=capture.url, config=trusted)
        assert ours.ok and ref.ok, (ours.error, ref.error)
        assert len(capture.requests) == 2 and proxy.auth[-1] == proxy.expected
    finally:
        proxy.close()


@pytest.mark.parametrize("cls", [FastTransport, AsyncFastTransport])
def test_unknown_proxies_config_key_is_refused(cls: Any) -> None:
    with pytest.raises(ValueError, match="proxy_ca_bundel"):
        cls(endpoint_url="http://127.0.0.1:9", region_name="us-east-1",
            config=Config(proxies_config={"proxy_ca_bundel": "/x.pem"}))


def test_fast_async_refuses_forwarding_it_cannot_do(tls_files: tuple[str, str]) -> None:
    """aiohttp always tunnels to an https endpoint: forwarding through an https:// proxy is refused with a
    clear error before anything is sent (botocore would forward)."""
    proxy = TLSProxyServer(*tls_files)
    try:
        config = Config(proxies={"https": proxy.url("alice", PASSWORD)},
                        proxies_config={"proxy_ca_bundle": tls_files[0], "proxy_use_forwarding_for_https": True})
        out = send("fast-async", *GET, endpoint_url="https://127.0.0.1:9", config=config)
    except ValueError as err:
        assert "proxy_use_forwarding_for_https" in str(err) and PASSWORD not in str(err)
    else:
        raise AssertionError(f"not refused: {out}")
    finally:
        proxy.close()
    assert proxy.lines == []
