"""Triton Inference Server as a backend: the model runs on a shared server (KServe v2 HTTP protocol,
``tritonclient[http]``), with the same contract as the local backends.

Selected with ``--backend triton:http://HOST:8000/MODEL`` (``https://`` too; options after ``?``:
``timeout=S`` seconds per request, default 30; ``version=N`` to pin a model version). The local
ONNX file and its card stay the model's identity: the card's sha256 is logged with every verdict,
the golden-sample self-test runs through the server, and at load the server must show that it
serves that file. Refused at load, with a message saying what to fix (``BackendUnavailable``,
``ModelLoadError``: ``inspector inspect`` exits 2):

- the server is unreachable or not ready, or the model is not ready;
- the server's model metadata do not follow the contract: input ``image`` and output ``mask``,
  FP32, 4-D NHWC with one channel, and fixed H/W (if any) that the card's input fits;
- its configuration does not record this file: ``parameters { key: "onnx_sha256" ... }`` in
  ``config.pbtxt`` (``inspector export-triton`` writes it) must equal the card's sha256;
- it serves several versions and none was pinned.

The version found at load is pinned for every request, so a server that swaps the model later
answers with errors, never with another model's masks. Each request has a timeout; a failed
request (server gone, timed out, model unloaded, wrong output) raises :class:`TritonRequestError`,
which the pipeline turns into an ERROR verdict for that part, and the run goes on: the next part
tries again (a new connection), so a restarted server is used again without a station restart.

``tritonclient`` is imported in :meth:`TritonBackend.load` only. Its HTTP client is not shared
between threads: each thread that calls :meth:`TritonBackend.infer` gets its own.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from inspector.core.backends.base import Backend, BackendInfo, BackendUnavailable, ModelLoadError
from inspector.core.contract import INPUT_NAME, OUTPUT_NAME

PREFIX = "triton:"
SHA_PARAMETER = "onnx_sha256"  # config.pbtxt parameter naming the ONNX file the model was exported from
DEFAULT_TIMEOUT_S = 30.0  # per request (network); a large image on a busy shared server takes a while
CONNECT_TIMEOUT_S = 5.0
INSTALL_HINT = "pip install 'tritonclient[http]' (the station's 'triton' extra)"


class TritonRequestError(RuntimeError):
    """One inference request failed (server away, timeout, error answer): this part is not inspected."""


@dataclass(frozen=True, slots=True)
class TritonTarget:
    """Where the model runs: parsed from ``triton:http://host:port[/prefix]/MODEL[?timeout=S&version=N]``."""

    address: str  # host:port[/prefix], as tritonclient takes it (no scheme)
    ssl: bool
    model: str
    version: str = ""  # "" = the one the server serves (exactly one, checked at load)
    timeout_s: float = DEFAULT_TIMEOUT_S

    @property
    def display(self) -> str:
        return f"{'https' if self.ssl else 'http'}://{self.address}/{self.model}"


def is_triton_spec(spec: object) -> bool:
    return isinstance(spec, str) and spec.strip().lower().startswith(PREFIX)


def parse_triton_spec(spec: str) -> TritonTarget:
    """``triton:http://host:8000/MODEL`` -> :class:`TritonTarget` (ValueError saying what is wrong)."""
    text = spec.strip()
    if not is_triton_spec(text):
        raise ValueError(f"not a Triton backend: {spec!r} (expected triton:http://HOST:PORT/MODEL)")
    url = text[len(PREFIX) :]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"{spec!r}: expected triton:http://HOST:PORT/MODEL (or https://); gRPC is not supported"
        )
    path = parts.path.strip("/")
    if not path:
        raise ValueError(f"{spec!r}: the model name is missing (triton:http://HOST:PORT/MODEL)")
    prefix, _, model = path.rpartition("/")
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = sorted(set(query) - {"timeout", "version"})
    if unknown:
        raise ValueError(f"{spec!r}: unknown option(s) {', '.join(unknown)} (known: timeout, version)")
    timeout = DEFAULT_TIMEOUT_S
    if "timeout" in query:
        try:
            timeout = float(query["timeout"])
        except ValueError:
            timeout = -1.0
        if not timeout > 0:
            raise ValueError(f"{spec!r}: timeout must be a number of seconds > 0, not {query['timeout']!r}")
    version = query.get("version", "")
    if version and not version.isdigit():
        raise ValueError(f"{spec!r}: version must be a number, not {version!r}")
    address = parts.netloc + (f"/{prefix}" if prefix else "")
    return TritonTarget(address, parts.scheme == "https", model, version, timeout)


def _dims(shape: Any) -> list[int]:
    return [int(d) for d in shape]


def _tensor(meta: dict[str, Any], kind: str, name: str) -> dict[str, Any] | None:
    for t in meta.get(kind) or []:
        if t.get("name") == name:
            return t
    return None


def _config_parameter(config: dict[str, Any], key: str) -> str | None:
    params = config.get("parameters") or {}
    value = params.get(key) if isinstance(params, dict) else None
    if isinstance(value, dict):
        value = value.get("string_value")
    return str(value) if value is not None else None


class TritonBackend(Backend):
    name = "triton"

    def __init__(self, target: TritonTarget | str) -> None:
        self.target = parse_triton_spec(target) if isinstance(target, str) else target
        self.notice = ""
        # read by the tiler (inspector.core.tiling): what one request may carry
        self.max_batch: int | None = None
        self.min_input_size: tuple[int, int] | None = None
        self.max_input_size: tuple[int, int] | None = None
        self.model_sha256 = ""
        self.version = self.target.version
        self.server_version = ""
        self._model_path: Path | None = None
        self._http: Any = None  # the tritonclient.http module
        self._local = threading.local()
        self._clients: list[Any] = []
        self._clients_lock = threading.Lock()

    # -- load: every check before the first part ---------------------------------------------------
    def load(self, model_path: Path) -> None:
        from inspector.core.model_card import load_card, verify_card

        t = self.target
        try:
            import tritonclient.http as http
        except ImportError as exc:
            raise BackendUnavailable(
                f"the Triton backend needs tritonclient: {INSTALL_HINT} ({exc})"
            ) from exc
        model_path = Path(model_path)
        if not model_path.is_file():
            raise ModelLoadError(
                f"model file not found: {model_path} (the Triton backend checks the "
                "server's model against the local ONNX file and its card)"
            )
        card = verify_card(load_card(model_path), model_path)
        self._http = http
        client = self._client()
        try:
            ready = client.is_server_ready()
        except Exception as exc:
            raise BackendUnavailable(f"Triton server {t.display} is not reachable: {_short(exc)}") from None
        if not ready:
            raise BackendUnavailable(f"Triton server {t.display} is up but not ready (still loading?)")
        try:
            model_ready = client.is_model_ready(t.model, t.version)
            meta = client.get_model_metadata(t.model, t.version) if model_ready else {}
            config = client.get_model_config(t.model, t.version) if model_ready else {}
            server = client.get_server_metadata()
        except Exception as exc:
            raise BackendUnavailable(f"Triton server {t.display}: {_short(exc)}") from None
        if not model_ready:
            raise BackendUnavailable(
                f"model {t.model!r}{f' version {t.version}' if t.version else ''} is not ready on the "
                f"Triton server {t.display} (not in its repository, or failed to load: see the server's log)"
            )
        self.server_version = str(server.get("version", ""))
        versions = [str(v) for v in meta.get("versions") or []]
        if not t.version:
            if len(versions) > 1:
                raise BackendUnavailable(
                    f"model {t.model!r} on {t.display} serves versions {', '.join(versions)}: pin the one "
                    f"exported from {model_path.name} with ?version=N"
                )
            self.version = versions[0] if versions else ""
        self._check_identity(config, card.sha256, model_path)
        self._check_metadata(meta, config, card)
        self.model_sha256 = card.sha256
        self._model_path = model_path

    def _check_identity(self, config: dict[str, Any], sha256: str, model_path: Path) -> None:
        t = self.target
        recorded = _config_parameter(config, SHA_PARAMETER)
        if not recorded:
            raise ModelLoadError(
                f"model {t.model!r} on {t.display} does not say which model file it is (no "
                f"'{SHA_PARAMETER}' parameter in its config.pbtxt): export it with "
                f"'inspector export-triton {model_path}', which records it"
            )
        if recorded.strip().lower() != sha256:
            raise ModelLoadError(
                f"model {t.model!r} on {t.display} is not {model_path.name}: the server's config records "
                f"sha256 {recorded[:12]}…, the local file's is {sha256[:12]}…; point the station at the "
                "model it runs, or export this one to the server's repository"
            )

    def _check_metadata(self, meta: dict[str, Any], config: dict[str, Any], card: Any) -> None:
        t = self.target
        where = f"model {t.model!r} on {t.display}"
        inp, out = _tensor(meta, "inputs", INPUT_NAME), _tensor(meta, "outputs", OUTPUT_NAME)
        if inp is None or out is None:
            names_in = sorted(str(x.get("name")) for x in meta.get("inputs") or [])
            names_out = sorted(str(x.get("name")) for x in meta.get("outputs") or [])
            raise ModelLoadError(
                f"{where}: expected input '{INPUT_NAME}' and output '{OUTPUT_NAME}', the server has inputs "
                f"{names_in} and outputs {names_out}"
            )
        for role, tensor in (("input", inp), ("output", out)):
            shape = _dims(tensor.get("shape") or [])
            if tensor.get("datatype") != "FP32" or len(shape) != 4 or shape[-1] != 1:
                raise ModelLoadError(
                    f"{where}: {role} '{tensor['name']}' must be FP32 NHWC [N, H, W, 1], the server has "
                    f"{tensor.get('datatype')} {shape}"
                )
        n, h, w, _ = _dims(inp["shape"])
        max_batch = int(config.get("max_batch_size", 0) or 0)
        self.max_batch = max_batch if max_batch > 0 else (n if n > 0 else None)
        if h > 0 or w > 0:
            if h <= 0 or w <= 0:
                raise ModelLoadError(
                    f"{where}: input H and W must be both fixed or both dynamic, not {[h, w]}"
                )
            if card.resize in ("resize", "pad") and (h, w) != (card.input_height, card.input_width):
                raise ModelLoadError(
                    f"{where}: the server's input is fixed at {w}x{h} but the model card feeds "
                    f"{card.input_width}x{card.input_height}"
                )
            if card.resize == "native" and (h % max(1, card.multiple) or w % max(1, card.multiple)):
                raise ModelLoadError(f"{where}: fixed input {w}x{h} is not a multiple of {card.multiple}")
            self.min_input_size = self.max_input_size = (h, w)
        # a TensorRT plan's optimisation profile (export-triton records it): requests stay inside it
        limits = {}
        for key in ("input_min_height", "input_min_width", "input_max_height", "input_max_width"):
            raw = _config_parameter(config, key)
            if raw is not None:
                try:
                    limits[key] = int(raw)
                except ValueError:
                    raise ModelLoadError(f"{where}: parameter {key} is not a number: {raw!r}") from None
        if "input_min_height" in limits and "input_min_width" in limits:
            self.min_input_size = (limits["input_min_height"], limits["input_min_width"])
        if "input_max_height" in limits and "input_max_width" in limits:
            self.max_input_size = (limits["input_max_height"], limits["input_max_width"])
        if card.resize in ("resize", "pad"):
            hw = (card.input_height, card.input_width)
            lo, hi = self.min_input_size, self.max_input_size
            if (lo and (hw[0] < lo[0] or hw[1] < lo[1])) or (hi and (hw[0] > hi[0] or hw[1] > hi[1])):
                raise ModelLoadError(
                    f"{where}: the server takes {lo} to {hi} (H, W) but the model card feeds {hw}"
                )

    # -- inference ---------------------------------------------------------------------------------
    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            if self._http is None:
                raise RuntimeError("backend not loaded")
            t = self.target
            client = self._http.InferenceServerClient(
                t.address,
                ssl=t.ssl,
                connection_timeout=min(CONNECT_TIMEOUT_S, t.timeout_s),
                network_timeout=t.timeout_s,
            )
            self._local.client = client
            with self._clients_lock:
                self._clients.append(client)
        return client

    def _drop_client(self) -> None:
        """After a failed request: the next one connects anew (the server may have restarted)."""
        client = getattr(self._local, "client", None)
        self._local.client = None
        if client is not None:
            with self._clients_lock:
                if client in self._clients:
                    self._clients.remove(client)
            _close_quietly(client)

    def infer(self, batch: np.ndarray) -> np.ndarray:
        if self._model_path is None:
            raise RuntimeError("backend not loaded")
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        http, t = self._http, self.target
        inp = http.InferInput(INPUT_NAME, list(batch.shape), "FP32")
        inp.set_data_from_numpy(batch, binary_data=True)
        wanted = [http.InferRequestedOutput(OUTPUT_NAME, binary_data=True)]
        try:
            result = self._client().infer(t.model, [inp], model_version=self.version, outputs=wanted)
            out = result.as_numpy(OUTPUT_NAME)
        except Exception as exc:
            self._drop_client()
            raise TritonRequestError(f"Triton server {t.display}: {_short(exc)}") from exc
        if out is None:
            raise TritonRequestError(f"Triton server {t.display} answered without '{OUTPUT_NAME}'")
        expected = (*batch.shape[:3], 1)
        if out.dtype != np.float32 or tuple(out.shape) != expected:
            raise TritonRequestError(
                f"Triton server {t.display} answered '{OUTPUT_NAME}' {out.dtype} {list(out.shape)}, "
                f"expected float32 {list(expected)}"
            )
        return out

    def info(self) -> BackendInfo:
        t = self.target
        version = f" v{self.version}" if self.version else ""
        server = f" (server {self.server_version})" if self.server_version else ""
        return BackendInfo(
            name=self.name,
            display=f"Triton {t.model}{version} at {t.display}{server}",
            device=f"Triton server {t.address}",
            model_path=self._model_path or Path(),
            notice=self.notice,
        )

    def close(self) -> None:
        with self._clients_lock:
            clients, self._clients = self._clients, []
        for client in clients:
            _close_quietly(client)
        self._local = threading.local()


def _close_quietly(client: Any) -> None:
    # a client of a dead server or of another thread: nothing left to free
    with contextlib.suppress(Exception):
        client.close()


def _short(exc: BaseException) -> str:
    """One line for an operator: the server's own message when it sent one."""
    text = str(exc).strip().splitlines()
    message = text[0] if text else ""
    if not message or message in ("None", "timed out"):
        message = f"{type(exc).__name__}{': ' + message if message else ''}"
    if isinstance(exc, TimeoutError) and "timed out" not in message:
        message += " (timed out)"
    return message[:300]


def onnx_io_dims(model_path: Path) -> tuple[list[int | None], list[int | None]]:
    """The ONNX model's ``image`` and ``mask`` shapes (None for a dynamic dimension), after the
    model-contract check the local backend makes (ModelLoadError naming what differs)."""
    from inspector.core.backends.onnxruntime_backend import _check_contract, make_session

    try:
        sess = make_session(model_path)
    except Exception as exc:
        raise ModelLoadError(f"{model_path}: not a loadable ONNX model: {exc}") from exc
    _check_contract(sess, Path(model_path))

    def dims(shape: list[Any]) -> list[int | None]:
        return [d if isinstance(d, int) and d > 0 else None for d in shape]

    inp = next(i for i in sess.get_inputs() if i.name == INPUT_NAME)
    out = next(o for o in sess.get_outputs() if o.name == OUTPUT_NAME)
    return dims(inp.shape), dims(out.shape)
