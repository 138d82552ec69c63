"""A small KServe v2 (Triton) HTTP inference server for tests, backed by ONNX Runtime.

It serves a Triton model repository as ``inspector export-triton`` writes it (``<repo>/<model>/
config.pbtxt`` and ``<repo>/<model>/<version>/model.onnx``) with the parts of the v2 HTTP protocol
the station uses:

- ``GET /v2/health/live``, ``GET /v2/health/ready``, ``GET /v2`` (server metadata);
- ``GET /v2/models/<m>[/versions/<v>]`` (model metadata), ``.../ready``, ``.../config`` (the
  model configuration as JSON, Triton's model-configuration extension);
- ``POST /v2/models/<m>[/versions/<v>]/infer`` with JSON tensors or the binary tensor data
  extension (``Inference-Header-Content-Length``: a JSON header, then the raw tensors).

Like Triton, the metadata comes from config.pbtxt (``max_batch_size > 0`` puts a ``-1`` batch
dimension in front of the dims), only the newest version directory is served, and a request
whose tensors do not match the configuration is refused with HTTP 400. A ``tensorrt_plan`` model
is listed but never ready (there is no TensorRT here).

In a test: ``with KServeV2Server(repo) as server: server.url``; as a process (to be killed):
``python -m tests.fakes.kserve_v2_server --repo DIR [--port N]`` prints ``listening PORT``.
Knobs: ``ready`` (server readiness), ``unready`` (model names reported not ready),
``infer_delay_s`` (a slow server), ``infer_count``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

# -- config.pbtxt: protobuf text format, the subset model configurations use ---------------------------
_TOKEN = re.compile(r"""\s+|#[^\n]*|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[{}\[\]:,;<>]|[^\s{}\[\]:,;<>"'#]+""")


class PbtxtError(ValueError):
    pass


def parse_pbtxt(text: str) -> dict[str, list[Any]]:
    """Protobuf text format -> {field: [values]} (every field a list: fields may repeat);
    a message value is such a dict, a scalar an int, float, bool, string or enum name."""
    tokens = [t for t in _TOKEN.findall(text) if t.strip() and not t.startswith("#")]
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take(expected: str | None = None) -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise PbtxtError(f"unexpected end of text{f', expected {expected!r}' if expected else ''}")
        tok = tokens[pos]
        if expected is not None and tok != expected:
            raise PbtxtError(f"expected {expected!r}, found {tok!r} (token {pos})")
        pos += 1
        return tok

    def scalar(tok: str) -> Any:
        if tok[0] in "\"'":
            return bytes(tok[1:-1], "utf-8").decode("unicode_escape")
        if tok in ("true", "True"):
            return True
        if tok in ("false", "False"):
            return False
        if re.fullmatch(r"[-+]?\d+", tok):
            return int(tok)
        if re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?[fF]?", tok):
            return float(tok.rstrip("fF"))
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", tok):
            return tok  # an enum value
        raise PbtxtError(f"not a value: {tok!r}")

    def value() -> Any:
        tok = take()
        if tok in ("{", "<"):
            return message("}" if tok == "{" else ">")
        return scalar(tok)

    def message(end: str | None) -> dict[str, list[Any]]:
        fields: dict[str, list[Any]] = {}
        while True:
            tok = peek()
            if tok is None:
                if end is not None:
                    raise PbtxtError(f"missing {end!r}")
                return fields
            if tok == end:
                take()
                return fields
            name = take()
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise PbtxtError(f"expected a field name, found {name!r}")
            if peek() == ":":
                take()
            elif peek() not in ("{", "<", "["):  # a message or a list of messages needs no ':'
                raise PbtxtError(f"expected ':' or '{{' after {name!r}")
            out = fields.setdefault(name, [])
            if peek() == "[":
                take()
                while peek() != "]":
                    out.append(value())
                    if peek() == ",":
                        take()
                take("]")
            else:
                out.append(value())
            if peek() in (",", ";"):
                take()

    return message(None)


_REPEATED = {"input", "output", "dims", "instance_group", "gpus", "preferred_batch_size", "reshape"}


def config_json(cfg: dict[str, list[Any]]) -> dict[str, Any]:
    """A parsed config.pbtxt as Triton's ``/config`` endpoint gives it (protobuf JSON mapping:
    repeated fields are lists, ``parameters`` a map of ``{"string_value": ...}``)."""
    out: dict[str, Any] = {}
    for key, values in cfg.items():
        if key == "parameters":
            out[key] = {str(p["key"][0]): {k: v[0] for k, v in p["value"][0].items()} for p in values}
            continue
        conv = [config_json(v) if isinstance(v, dict) else v for v in values]
        out[key] = conv if key in _REPEATED else conv[-1]
    return out


# -- the served models ---------------------------------------------------------------------------------
_NUMPY = {
    "FP32": np.float32,
    "FP16": np.float16,
    "FP64": np.float64,
    "INT64": np.int64,
    "INT32": np.int32,
    "UINT8": np.uint8,
    "INT8": np.int8,
    "BOOL": np.bool_,
}


class _Model:
    def __init__(self, folder: Path) -> None:
        self.name = folder.name
        self.config = config_json(parse_pbtxt((folder / "config.pbtxt").read_text(encoding="utf-8")))
        self.config.setdefault("name", self.name)
        self.platform = str(self.config.get("platform", ""))
        self.max_batch = int(self.config.get("max_batch_size", 0))
        versions = sorted(int(p.name) for p in folder.iterdir() if p.is_dir() and p.name.isdigit())
        if not versions:
            raise FileNotFoundError(f"{folder}: no version directory")
        self.version = str(versions[-1])
        self.session: Any = None
        if self.platform == "onnxruntime_onnx":
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
            path = folder / self.version / str(self.config.get("default_model_filename", "model.onnx"))
            self.session = ort.InferenceSession(
                str(path), sess_options=opts, providers=["CPUExecutionProvider"]
            )

    def tensors(self, kind: str) -> list[dict[str, Any]]:
        out = []
        for t in self.config.get(kind, []):
            dims = [int(d) for d in t.get("dims", [])]
            out.append(
                {
                    "name": t["name"],
                    "datatype": str(t.get("data_type", "TYPE_FP32")).removeprefix("TYPE_"),
                    "shape": ([-1] if self.max_batch > 0 else []) + dims,
                }
            )
        return out

    def metadata(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "versions": [self.version],
            "platform": self.platform,
            "inputs": self.tensors("input"),
            "outputs": self.tensors("output"),
        }


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _shape_ok(shape: list[int], declared: list[int]) -> bool:
    return len(shape) == len(declared) and all(
        d == -1 or d == s for s, d in zip(shape, declared, strict=True)
    )


class KServeV2Server:
    """The server, on 127.0.0.1 and a free port (or ``port``), in a background thread."""

    def __init__(self, repo: Path, port: int = 0, *, infer_delay_s: float = 0.0) -> None:
        self.repo = Path(repo)
        self.models = {
            p.name: _Model(p) for p in sorted(self.repo.iterdir()) if (p / "config.pbtxt").is_file()
        }
        self.ready = True
        self.unready: set[str] = set()
        self.infer_delay_s = infer_delay_s
        self.infer_count = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> KServeV2Server:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="kserve-v2", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until the process ends (``python -m``)."""
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> KServeV2Server:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- requests --------------------------------------------------------------------------------------
    def _model(self, name: str, version: str | None) -> _Model:
        model = self.models.get(name)
        if model is None:
            raise _Refused(HTTPStatus.NOT_FOUND, f"Request for unknown model: '{name}' is not found")
        if version not in (None, "", model.version):
            raise _Refused(
                HTTPStatus.NOT_FOUND, f"Request for unknown model: '{name}' version {version} is not found"
            )
        return model

    def _model_ready(self, model: _Model) -> bool:
        return self.ready and model.name not in self.unready and model.session is not None

    def get(self, path: str) -> tuple[int, Any]:
        if path == "/v2/health/live":
            return HTTPStatus.OK, None
        if path == "/v2/health/ready":
            return (HTTPStatus.OK if self.ready else HTTPStatus.SERVICE_UNAVAILABLE), None
        if path == "/v2":
            return HTTPStatus.OK, {
                "name": "kserve-v2-test-server",
                "version": "0.1",
                "extensions": ["binary_tensor_data", "model_configuration"],
            }
        m = re.fullmatch(r"/v2/models/([^/]+)(?:/versions/([^/]+))?(/ready|/config)?", path)
        if m is None:
            return HTTPStatus.NOT_FOUND, {"error": f"not found: {path}"}
        model = self._model(m.group(1), m.group(2))
        if m.group(3) == "/ready":
            return (HTTPStatus.OK if self._model_ready(model) else HTTPStatus.BAD_REQUEST), None
        if m.group(3) == "/config":
            return HTTPStatus.OK, model.config
        return HTTPStatus.OK, model.metadata()

    def infer(self, path: str, body: bytes, header_length: int | None) -> tuple[dict[str, Any], bytes]:
        m = re.fullmatch(r"/v2/models/([^/]+)(?:/versions/([^/]+))?/infer", path)
        if m is None:
            raise _Refused(HTTPStatus.NOT_FOUND, f"not found: {path}")
        model = self._model(m.group(1), m.group(2))
        if not self._model_ready(model):
            raise _Refused(HTTPStatus.BAD_REQUEST, f"Request for unknown model: '{model.name}' is not ready")
        if self.infer_delay_s:
            time.sleep(self.infer_delay_s)
        hlen = len(body) if header_length is None else header_length
        try:
            request = json.loads(body[:hlen])
        except ValueError as exc:
            raise _Refused(HTTPStatus.BAD_REQUEST, f"failed to parse the request JSON: {exc}") from None
        declared = {t["name"]: t for t in model.tensors("input")}
        feeds: dict[str, np.ndarray] = {}
        offset = hlen
        for t in request.get("inputs", []):
            name, dtype, shape = t["name"], t["datatype"], [int(x) for x in t["shape"]]
            if name not in declared:
                raise _Refused(
                    HTTPStatus.BAD_REQUEST, f"unexpected inference input '{name}' for model '{model.name}'"
                )
            want = declared[name]
            if dtype != want["datatype"]:
                raise _Refused(
                    HTTPStatus.BAD_REQUEST,
                    f"inference input '{name}' data-type is '{dtype}', but model '{model.name}' "
                    f"expects '{want['datatype']}'",
                )
            if not _shape_ok(shape, want["shape"]) or (model.max_batch > 0 and shape[0] > model.max_batch):
                raise _Refused(
                    HTTPStatus.BAD_REQUEST,
                    f"unexpected shape for input '{name}' for model '{model.name}'. "
                    f"Expected {want['shape']} (max batch {model.max_batch}), got {shape}",
                )
            np_type = _NUMPY[dtype]
            size = (t.get("parameters") or {}).get("binary_data_size")
            if size is not None:
                raw = body[offset : offset + int(size)]
                offset += int(size)
                arr = np.frombuffer(raw, dtype=np_type)
            else:
                arr = np.asarray(t["data"], dtype=np_type)
            if arr.size != int(np.prod(shape)):
                raise _Refused(HTTPStatus.BAD_REQUEST, f"input '{name}': {arr.size} values for shape {shape}")
            feeds[name] = arr.reshape(shape)
        if set(feeds) != set(declared):
            raise _Refused(HTTPStatus.BAD_REQUEST, f"expected inputs {sorted(declared)}, got {sorted(feeds)}")
        names = [t["name"] for t in model.tensors("output")]
        wanted = request.get("outputs") or [{"name": n} for n in names]
        all_binary = bool((request.get("parameters") or {}).get("binary_data_output"))
        results = dict(zip(names, model.session.run(names, feeds), strict=True))
        with self._lock:
            self.infer_count += 1
        outputs, blobs = [], []
        for o in wanted:
            if o["name"] not in results:
                raise _Refused(HTTPStatus.BAD_REQUEST, f"unexpected inference output '{o['name']}'")
            arr = np.ascontiguousarray(results[o["name"]])
            entry: dict[str, Any] = {
                "name": o["name"],
                "datatype": "FP32"
                if arr.dtype == np.float32
                else next(k for k, v in _NUMPY.items() if v == arr.dtype.type),
                "shape": list(arr.shape),
            }
            if all_binary or (o.get("parameters") or {}).get("binary_data"):
                blob = arr.tobytes()
                entry["parameters"] = {"binary_data_size": len(blob)}
                blobs.append(blob)
            else:
                entry["data"] = arr.ravel().tolist()
            outputs.append(entry)
        header = {"model_name": model.name, "model_version": model.version, "outputs": outputs}
        if "id" in request:
            header["id"] = request["id"]
        return header, b"".join(blobs)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as Triton
            disable_nagle_algorithm = True  # headers and body go out as separate writes

            def log_message(self, *_args: object) -> None:
                pass

            def _send(self, status: int, payload: Any = None, blob: bytes = b"") -> None:
                body = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                if blob:
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Inference-Header-Content-Length", str(len(body)))
                else:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body) + len(blob)))
                self.end_headers()
                self.wfile.write(body + blob)

            def do_GET(self) -> None:
                try:
                    self._send(*server.get(self.path.split("?", 1)[0]))
                except _Refused as exc:
                    self._send(exc.status, {"error": str(exc)})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                hlen = self.headers.get("Inference-Header-Content-Length")
                try:
                    header, blob = server.infer(self.path.split("?", 1)[0], body, int(hlen) if hlen else None)
                except _Refused as exc:
                    self._send(exc.status, {"error": str(exc)})
                    return
                except Exception as exc:  # the model failed: an error response, as Triton gives
                    self._send(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"inference failed: {exc}"})
                    return
                self._send(HTTPStatus.OK, header, blob)

        return Handler


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repo", type=Path, required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--delay", type=float, default=0.0, help="seconds each inference waits")
    args = p.parse_args(argv)
    server = KServeV2Server(args.repo, args.port, infer_delay_s=args.delay)
    print(f"listening {server.port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
