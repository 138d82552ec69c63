"""Fake ``tensorrt`` (10.x / 11.x Python API names) backed by ONNX Runtime.

Version from ``FAKE_TENSORRT_VERSION`` at import ("10.3.0" default, "11.0.0"; any
11.x behaves like 11.1). TensorRT 11 removed the weak-typing builder flags
(BuilderFlag.FP16/INT8/...), ``EXPLICIT_BATCH`` (so ``STRONGLY_TYPED`` is 0 there)
and every ``Builder.platform_has_*`` attribute; so does this fake.

A serialized engine = MAGIC + 4-byte header length + JSON header + ONNX bytes.
Executing it runs the ONNX with ONNX Runtime, in the engine's math: FP16 (the
weakly typed FP16 flag) stores every float activation and weight as float16; TF32
(``BuilderFlag.TF32``, on by default as in TensorRT) rounds the float inputs of
Conv / ConvTranspose / MatMul / Gemm to a 10-bit mantissa; a strongly typed FP16
graph runs as converted. So reduced precision perturbs outputs as on a GPU and
the parity check sees it. Device memory comes from the fake ``pycuda.driver``;
``execute_async_v3`` is queued on the stream.
"""

from __future__ import annotations

import enum
import json
import os
import struct
from typing import Any

import numpy as np

__version__ = os.environ.get("FAKE_TENSORRT_VERSION", "10.3.0")
_MAJOR = int(__version__.split(".")[0])
_MAGIC = b"FAKETRT\x00"
_TC_MAGIC = b"FAKETC\x00"


# ---------------------------------------------------------------- enums / basics
class ILogger:
    class Severity(enum.IntEnum):
        INTERNAL_ERROR = 0
        ERROR = 1
        WARNING = 2
        INFO = 3
        VERBOSE = 4

    INTERNAL_ERROR = Severity.INTERNAL_ERROR
    ERROR = Severity.ERROR
    WARNING = Severity.WARNING
    INFO = Severity.INFO
    VERBOSE = Severity.VERBOSE

    def log(self, severity: ILogger.Severity, msg: str) -> None:
        raise NotImplementedError


class Logger(ILogger):
    def __init__(self, min_severity: ILogger.Severity = ILogger.Severity.WARNING) -> None:
        self.min_severity = min_severity
        self.messages: list[tuple[ILogger.Severity, str]] = []

    def log(self, severity: ILogger.Severity, msg: str) -> None:
        self.messages.append((severity, msg))


class DataType(enum.IntEnum):
    """NvInferRuntimeBase.h ``enum class DataType`` (values as in TensorRT 10.8+ and 11)."""

    FLOAT = 0
    HALF = 1
    INT8 = 2
    INT32 = 3
    BOOL = 4
    UINT8 = 5
    FP8 = 6
    BF16 = 7
    INT64 = 8
    INT4 = 9
    FP4 = 10
    E8M0 = 11


# module-level aliases, as the bindings define them (trt.float32 ...); the real module's
# ``trt.bool`` is left out here, it would shadow the builtin inside this module
float32, float16, int8, int32 = DataType.FLOAT, DataType.HALF, DataType.INT8, DataType.INT32
int64, uint8, fp8, bfloat16, int4, fp4, e8m0 = (
    DataType.INT64,
    DataType.UINT8,
    DataType.FP8,
    DataType.BF16,
    DataType.INT4,
    DataType.FP4,
    DataType.E8M0,
)


_NP = {
    DataType.FLOAT: np.float32,
    DataType.HALF: np.float16,
    DataType.INT8: np.int8,
    DataType.INT32: np.int32,
    DataType.BOOL: np.bool_,
    DataType.UINT8: np.uint8,
    DataType.INT64: np.int64,
}
_ONNX_TO_TRT = {
    1: DataType.FLOAT,
    10: DataType.HALF,
    6: DataType.INT32,
    7: DataType.INT64,
    9: DataType.BOOL,
    16: DataType.BF16,
}


def nptype(trt_type: DataType) -> type:
    """Like the wheel's ``tensorrt.nptype``: types without a numpy equivalent (BF16, FP8, INT4,
    FP4, E8M0) raise TypeError."""
    if trt_type in _NP:
        return _NP[trt_type]
    raise TypeError("Could not resolve TensorRT datatype to an equivalent numpy datatype.")


def volume(iterable: Any) -> int:
    vol = 1
    for d in iterable:
        vol *= d
    return vol


class TensorIOMode(enum.IntEnum):
    NONE = 0
    INPUT = 1
    OUTPUT = 2


if _MAJOR >= 11:
    # EXPLICIT_BATCH is gone, STRONGLY_TYPED moved to 0 (and is the only, always-on behaviour)
    NetworkDefinitionCreationFlag = enum.IntEnum("NetworkDefinitionCreationFlag", {"STRONGLY_TYPED": 0})
    _BUILDER_FLAGS = [
        "DEBUG",
        "GPU_FALLBACK",
        "REFIT",
        "DISABLE_TIMING_CACHE",
        "TF32",
        "SPARSE_WEIGHTS",
        "SAFETY_SCOPE",
        "VERSION_COMPATIBLE",
        "EXCLUDE_LEAN_RUNTIME",
    ]
else:
    NetworkDefinitionCreationFlag = enum.IntEnum(
        "NetworkDefinitionCreationFlag", {"EXPLICIT_BATCH": 0, "STRONGLY_TYPED": 1}
    )
    _BUILDER_FLAGS = [
        "FP16",
        "INT8",
        "DEBUG",
        "GPU_FALLBACK",
        "REFIT",
        "DISABLE_TIMING_CACHE",
        "TF32",
        "SPARSE_WEIGHTS",
        "SAFETY_SCOPE",
        "OBEY_PRECISION_CONSTRAINTS",
        "PREFER_PRECISION_CONSTRAINTS",
        "DIRECT_IO",
        "BF16",
        "FP8",
        "VERSION_COMPATIBLE",
        "EXCLUDE_LEAN_RUNTIME",
    ]
BuilderFlag = enum.IntEnum("BuilderFlag", {n: i for i, n in enumerate(_BUILDER_FLAGS)})


class MemoryPoolType(enum.IntEnum):
    WORKSPACE = 0
    DLA_MANAGED_SRAM = 1
    DLA_LOCAL_DRAM = 2
    DLA_GLOBAL_DRAM = 3
    TACTIC_DRAM = 4
    TACTIC_SHARED_MEMORY = 5


class Dims(tuple):
    """TensorRT returns Dims; it iterates, indexes and len()s like a tuple."""


class IHostMemory(bytes):
    """Supports the buffer protocol, like the real IHostMemory (``f.write(mem)``)."""

    @property
    def nbytes(self) -> int:
        return len(self)

    @property
    def dtype(self) -> DataType:
        return DataType.UINT8


def _gpu() -> tuple[str, str]:
    if int(os.environ.get("FAKE_CUDA_DEVICES", "1")) <= 0:
        raise RuntimeError("no GPU")
    return os.environ.get("FAKE_CUDA_GPU_NAME", "NVIDIA L4"), os.environ.get("FAKE_CUDA_CC", "8.9")


# ---------------------------------------------------------------- network + parser
class ITensor:
    def __init__(self, name: str, shape: tuple[int, ...], dtype: DataType) -> None:
        self.name, self.shape, self.dtype = name, Dims(shape), dtype
        self.is_network_input = False
        self.is_network_output = False


class INetworkDefinition:
    def __init__(self, flags: int) -> None:
        self.flags = flags
        self._inputs: list[ITensor] = []
        self._outputs: list[ITensor] = []
        self._onnx: bytes | None = None
        self._fp16_weights = False
        self.name = "network"

    num_inputs = property(lambda self: len(self._inputs))
    num_outputs = property(lambda self: len(self._outputs))
    num_layers = property(lambda self: 0 if self._onnx is None else 1)

    def get_input(self, index: int) -> ITensor:
        return self._inputs[index]

    def get_output(self, index: int) -> ITensor:
        return self._outputs[index]

    def get_flag(self, flag: Any) -> bool:
        return bool(self.flags & (1 << int(flag)))


class ErrorCode(enum.IntEnum):
    SUCCESS = 0
    INTERNAL_ERROR = 1
    MEM_ALLOC_FAILED = 2
    MODEL_DESERIALIZE_FAILED = 3
    INVALID_VALUE = 4
    INVALID_GRAPH = 5
    INVALID_NODE = 6
    UNSUPPORTED_GRAPH = 7
    UNSUPPORTED_NODE = 8


class ParserError:
    def __init__(self, code: ErrorCode, desc: str, node: int = -1, name: str = "", op: str = "") -> None:
        self._code, self._desc, self._node, self._name, self._op = code, desc, node, name, op

    def code(self) -> ErrorCode:
        return self._code

    def desc(self) -> str:
        return self._desc

    def node(self) -> int:
        return self._node

    def node_name(self) -> str:
        return self._name

    def node_operator(self) -> str:
        return self._op

    def file(self) -> str:
        return "ModelImporter.cpp"

    def line(self) -> int:
        return 0

    def func(self) -> str:
        return "parseGraph"

    def __str__(self) -> str:
        where = f"In node {self._node} with name: {self._name} and operator: {self._op}"
        return f"{where} ({self.func()}): {self._desc}"


# ops the fake "importer" knows, the "Y" rows of onnx-tensorrt's docs/operators.md support matrix
# (the real parser imports all of them; a model exported by tf2onnx uses Shape/Gather/Slice/Split/...);
# anything else is reported like TensorRT does
_SUPPORTED_OPS = {
    "Abs",
    "Acos",
    "Acosh",
    "Add",
    "And",
    "ArgMax",
    "ArgMin",
    "Asin",
    "Asinh",
    "Atan",
    "Atanh",
    "AveragePool",
    "BatchNormalization",
    "Cast",
    "Ceil",
    "Celu",
    "Clip",
    "Concat",
    "Constant",
    "ConstantOfShape",
    "Conv",
    "ConvTranspose",
    "Cos",
    "Cosh",
    "CumSum",
    "DepthToSpace",
    "DequantizeLinear",
    "Div",
    "Dropout",
    "Einsum",
    "Elu",
    "Equal",
    "Erf",
    "Exp",
    "Expand",
    "EyeLike",
    "Flatten",
    "Floor",
    "Gather",
    "GatherElements",
    "GatherND",
    "Gemm",
    "GlobalAveragePool",
    "GlobalLpPool",
    "GlobalMaxPool",
    "Greater",
    "GreaterOrEqual",
    "GRU",
    "HardSigmoid",
    "Identity",
    "If",
    "ImageScaler",
    "InstanceNormalization",
    "IsNaN",
    "LeakyRelu",
    "Less",
    "LessOrEqual",
    "Log",
    "LogSoftmax",
    "Loop",
    "LRN",
    "LSTM",
    "LpNormalization",
    "LpPool",
    "MatMul",
    "Max",
    "MaxPool",
    "Mean",
    "Min",
    "Mul",
    "Neg",
    "Not",
    "Or",
    "Pad",
    "ParametricSoftplus",
    "Pow",
    "PRelu",
    "QuantizeLinear",
    "RandomUniform",
    "RandomUniformLike",
    "Range",
    "ReduceL1",
    "ReduceL2",
    "ReduceLogSum",
    "ReduceLogSumExp",
    "ReduceMax",
    "ReduceMean",
    "ReduceMin",
    "ReduceProd",
    "ReduceSum",
    "ReduceSumSquare",
    "Relu",
    "Reshape",
    "Resize",
    "ReverseSequence",
    "RNN",
    "Round",
    "ScaledTanh",
    "Scan",
    "Scatter",
    "ScatterElements",
    "ScatterND",
    "Selu",
    "Shape",
    "Sigmoid",
    "Sign",
    "Sin",
    "Sinh",
    "Size",
    "Slice",
    "Softmax",
    "Softplus",
    "Softsign",
    "SpaceToDepth",
    "Split",
    "Sqrt",
    "Squeeze",
    "Sub",
    "Sum",
    "Tan",
    "Tanh",
    "ThresholdedRelu",
    "Tile",
    "TopK",
    "Transpose",
    "Unsqueeze",
    "Upsample",
    "Where",
    "Xor",
}


class OnnxParser:
    def __init__(self, network: INetworkDefinition, logger: ILogger) -> None:
        self._network, self._logger = network, logger
        self._errors: list[ParserError] = []

    num_errors = property(lambda self: len(self._errors))

    def get_error(self, index: int) -> ParserError:
        return self._errors[index]

    def clear_errors(self) -> None:
        self._errors.clear()

    def parse_from_file(self, model: str) -> bool:
        with open(model, "rb") as fh:
            return self.parse(fh.read(), model)

    def parse(self, model: bytes, path: str | None = None) -> bool:
        import onnx

        try:
            proto = onnx.load_model_from_string(bytes(model))
        except Exception as exc:
            self._errors.append(
                ParserError(ErrorCode.MODEL_DESERIALIZE_FAILED, f"Failed to parse ONNX model: {exc}")
            )
            return False
        if not proto.graph.node:
            self._errors.append(ParserError(ErrorCode.INVALID_GRAPH, "ONNX graph has no nodes"))
            return False
        for i, node in enumerate(proto.graph.node):
            if node.op_type not in _SUPPORTED_OPS:
                self._errors.append(
                    ParserError(
                        ErrorCode.UNSUPPORTED_NODE,
                        f"No importer registered for op: {node.op_type}. Attempting to import as plugin.",
                        i,
                        node.name,
                        node.op_type,
                    )
                )
        if self._errors:
            return False
        inits = {t.name for t in proto.graph.initializer}
        net = self._network
        for vi, dest, is_in in (
            (proto.graph.input, net._inputs, True),
            (proto.graph.output, net._outputs, False),
        ):
            for v in vi:
                if v.name in inits:
                    continue
                tt = v.type.tensor_type
                dims = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in tt.shape.dim)
                t = ITensor(v.name, dims, _ONNX_TO_TRT.get(tt.elem_type, DataType.FLOAT))
                t.is_network_input, t.is_network_output = is_in, not is_in
                dest.append(t)
        net._fp16_weights = any(t.data_type == 10 for t in proto.graph.initializer)
        net._onnx = bytes(model)
        return True


# ---------------------------------------------------------------- builder
class IOptimizationProfile:
    def __init__(self) -> None:
        self._shapes: dict[str, list[Dims]] = {}
        self._valid = True

    def set_shape(self, input: str, min: Any, opt: Any, max: Any) -> None:
        """Like the real bindings: each of min/opt/max is set in turn (setDimensions), and the
        first one that is inconsistent raises RuntimeError; nothing is recorded then."""
        mn, op, mx = (Dims(int(d) for d in s) for s in (min, opt, max))
        if not mn or any(d < 0 for d in mn):
            raise RuntimeError("min input provided to optimization profile is invalid")
        if len(op) != len(mn) or any(a > b for a, b in zip(mn, op, strict=True)):
            raise RuntimeError("opt input provided to optimization profile is invalid")
        if len(mx) != len(op) or any(b > c for b, c in zip(op, mx, strict=True)):
            raise RuntimeError("max input provided to optimization profile is invalid")
        self._shapes[input] = [mn, op, mx]

    def get_shape(self, input: str) -> list[Dims]:
        return self._shapes.get(input, [])

    def __bool__(self) -> bool:
        return self._valid


class ITimingCache:
    def __init__(self, entries: int) -> None:
        self.entries = entries

    def serialize(self) -> IHostMemory:
        return IHostMemory(_TC_MAGIC + json.dumps({"entries": self.entries, "trt": __version__}).encode())

    def combine(self, input_cache: ITimingCache, ignore_mismatch: bool) -> bool:
        self.entries += input_cache.entries
        return True

    def reset(self) -> bool:
        self.entries = 0
        return True


class IBuilderConfig:
    def __init__(self) -> None:
        # NvInfer.h BuilderFlag::kTF32: "Enabled by default"
        self.flags = 1 << int(BuilderFlag.TF32)
        self._pools: dict[MemoryPoolType, int] = {}
        self._profiles: list[IOptimizationProfile] = []
        self._cache: ITimingCache | None = None
        self.builder_optimization_level = 3

    def set_flag(self, flag: Any) -> None:
        self.flags |= 1 << int(flag)

    def clear_flag(self, flag: Any) -> None:
        self.flags &= ~(1 << int(flag))

    def get_flag(self, flag: Any) -> bool:
        return bool(self.flags & (1 << int(flag)))

    def set_memory_pool_limit(self, pool: MemoryPoolType, pool_size: int) -> None:
        self._pools[MemoryPoolType(pool)] = int(pool_size)

    def get_memory_pool_limit(self, pool: MemoryPoolType) -> int:
        return self._pools.get(MemoryPoolType(pool), 24 * 1024**3)

    def add_optimization_profile(self, profile: IOptimizationProfile) -> int:
        if not profile:
            return -1
        self._profiles.append(profile)
        return len(self._profiles) - 1

    num_optimization_profiles = property(lambda self: len(self._profiles))

    def create_timing_cache(self, serialized_timing_cache: bytes) -> ITimingCache:
        data = bytes(serialized_timing_cache)
        if data.startswith(_TC_MAGIC):
            return ITimingCache(int(json.loads(data[len(_TC_MAGIC) :])["entries"]))
        return ITimingCache(0)

    def set_timing_cache(self, cache: ITimingCache, ignore_mismatch: bool) -> bool:
        self._cache = cache
        return True

    def get_timing_cache(self) -> ITimingCache | None:
        return self._cache


class Builder:
    def __init__(self, logger: ILogger) -> None:
        self.logger = logger
        try:
            _gpu()
        except RuntimeError:
            logger.log(ILogger.ERROR, "CUDA initialization failure with error: 100")
            raise TypeError("pybind11::init(): factory function returned nullptr") from None
        self.max_threads = 1

    if _MAJOR < 11:  # TensorRT 11 has no platform_has_* attributes at all
        platform_has_fast_fp16 = property(lambda self: True)
        platform_has_fast_int8 = property(lambda self: True)
        platform_has_tf32 = property(lambda self: True)

    def create_network(self, flags: int = 0) -> INetworkDefinition:
        return INetworkDefinition(flags)

    def create_builder_config(self) -> IBuilderConfig:
        return IBuilderConfig()

    def create_optimization_profile(self) -> IOptimizationProfile:
        return IOptimizationProfile()

    def _fail(self, msg: str) -> None:
        self.logger.log(ILogger.ERROR, msg)

    def build_serialized_network(
        self, network: INetworkDefinition, config: IBuilderConfig
    ) -> IHostMemory | None:
        if network._onnx is None or not network._outputs:
            self._fail("Network must have at least one output")
            return None
        strongly = _MAJOR >= 11 or network.get_flag(NetworkDefinitionCreationFlag.STRONGLY_TYPED)
        fp16_flag = hasattr(BuilderFlag, "FP16") and config.get_flag(BuilderFlag.FP16)
        if strongly and fp16_flag:
            self._fail(
                "IBuilderConfig::setFlag: Error Code 3: "
                "precision flags are not allowed with strongly typed networks"
            )
            return None
        profiles: list[dict[str, list[list[int]]]] = [{} for _ in config._profiles]
        for t in network._inputs:
            if -1 not in t.shape:
                continue
            if not config._profiles:
                self._fail(
                    "Network has dynamic or shape inputs, but no optimization profile has been defined."
                )
                return None
            for k, prof in enumerate(config._profiles):
                shapes = prof.get_shape(t.name)
                if not shapes:
                    self._fail(f"{t.name}: dynamic input is missing dimensions in profile {k}.")
                    return None
                for s in shapes:
                    if len(s) != len(t.shape) or any(
                        d != -1 and d != v for d, v in zip(t.shape, s, strict=True)
                    ):
                        self._fail(
                            f"{t.name}: profile {k} dimensions {tuple(s)} "
                            f"do not match network {tuple(t.shape)}"
                        )
                        return None
                profiles[k][t.name] = [list(s) for s in shapes]
        if config._cache is not None:
            config._cache.entries += 1  # "timed" one more tactic
        name, cc = _gpu()
        tf32 = config.get_flag(BuilderFlag.TF32)
        header = {
            "trt_version": __version__,
            "gpu_name": name,
            "cc": cc,
            "fp16": bool(fp16_flag or network._fp16_weights),
            # the math the engine runs: "fp16" rounds every float activation (weak typing + FP16
            # flag); "tf32" rounds Conv/MatMul inputs; a strongly typed graph keeps its own types
            "math": "fp16" if fp16_flag else ("tf32" if tf32 else "fp32"),
            "strongly_typed": strongly,
            "io": [
                {
                    "name": t.name,
                    "mode": int(TensorIOMode.INPUT),
                    "dtype": int(t.dtype),
                    "shape": list(t.shape),
                }
                for t in network._inputs
            ]
            + [
                {
                    "name": t.name,
                    "mode": int(TensorIOMode.OUTPUT),
                    "dtype": int(t.dtype),
                    "shape": list(t.shape),
                }
                for t in network._outputs
            ],
            "profiles": profiles,
            "workspace": config.get_memory_pool_limit(MemoryPoolType.WORKSPACE),
        }
        hdr = json.dumps(header).encode()
        return IHostMemory(_MAGIC + struct.pack("<I", len(hdr)) + hdr + network._onnx)


# ---------------------------------------------------------------- runtime
class Runtime:
    def __init__(self, logger: ILogger) -> None:
        self.logger = logger

    def deserialize_cuda_engine(self, serialized_engine: bytes) -> ICudaEngine | None:
        data = bytes(serialized_engine)
        if not data.startswith(_MAGIC):
            self.logger.log(
                ILogger.ERROR,
                "1: [stdArchiveReader.cpp] Error Code 1: Serialization (Magic tag does not match)",
            )
            return None
        (n,) = struct.unpack("<I", data[8:12])
        header = json.loads(data[12 : 12 + n])
        if header["trt_version"] != __version__:
            self.logger.log(
                ILogger.ERROR,
                "Serialization assertion stdVersionRead == kSERIALIZATION_VERSION failed."
                "Version tag does not match.",
            )
            return None
        if header["cc"] != _gpu()[1]:
            self.logger.log(
                ILogger.ERROR, "Error Code 1: Serialization (engine plan is for a different device)"
            )
            return None
        return ICudaEngine(header, data[12 + n :], self.logger)


class ICudaEngine:
    def __init__(self, header: dict[str, Any], onnx_bytes: bytes, logger: ILogger) -> None:
        self._h, self._onnx, self._logger = header, onnx_bytes, logger
        self._io = {t["name"]: t for t in header["io"]}
        self._order = [t["name"] for t in header["io"]]
        self._session: Any = None
        self.name = "fake-engine"

    num_io_tensors = property(lambda self: len(self._order))
    num_optimization_profiles = property(lambda self: max(1, len(self._h["profiles"])))

    def get_tensor_name(self, index: int) -> str:
        return self._order[index]

    def get_tensor_mode(self, name: str) -> TensorIOMode:
        return TensorIOMode(self._io[name]["mode"]) if name in self._io else TensorIOMode.NONE

    def get_tensor_dtype(self, name: str) -> DataType:
        return DataType(self._io[name]["dtype"])

    def get_tensor_shape(self, name: str) -> Dims:
        return Dims(self._io[name]["shape"])

    def get_tensor_profile_shape(self, name: str, profile_index: int) -> list[Dims]:
        return [Dims(s) for s in self._h["profiles"][profile_index][name]]

    def create_execution_context(self, strategy: Any = None) -> IExecutionContext:
        return IExecutionContext(self)

    def serialize(self) -> IHostMemory:
        hdr = json.dumps(self._h).encode()
        return IHostMemory(_MAGIC + struct.pack("<I", len(hdr)) + hdr + self._onnx)

    def _run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import onnxruntime as ort

        if self._session is None:
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            graph = _reduced_precision(self._onnx, self._h.get("math", "fp32"))
            self._session = ort.InferenceSession(graph, opts, providers=["CPUExecutionProvider"])
        names = [o.name for o in self._session.get_outputs()]
        return dict(zip(names, self._session.run(names, feeds), strict=True))


# ---------------------------------------------------------------- reduced-precision emulation
_FLOAT, _FLOAT16 = 1, 10
_TF32_OPS = {"Conv", "ConvTranspose", "MatMul", "Gemm"}
_TF32_SPLIT = np.float32(2.0**13 + 1.0)  # Veltkamp split: keeps 24 - 13 = 11 significant bits


def tf32_round(x: np.ndarray) -> np.ndarray:
    """float32 rounded to TF32 (10-bit mantissa, round to nearest even); fake-only helper."""
    b = np.ascontiguousarray(x, np.float32).view(np.uint32).astype(np.uint64)
    b = (b + 0xFFF + ((b >> 13) & 1)) & 0xFFFFE000
    return b.astype(np.uint32).view(np.float32).reshape(np.shape(x))


def _reduced_precision(onnx_bytes: bytes, math: str) -> bytes:
    """The ONNX as the engine computes it: ``fp16`` stores every float tensor as float16 (weights
    rounded, a Cast pair after every float output), ``tf32`` rounds the float inputs of
    Conv/ConvTranspose/MatMul/Gemm to a 10-bit mantissa (weights in numpy, activations with a
    Veltkamp split in the graph, exact in float32). Graph I/O stays as declared."""
    if math not in ("fp16", "tf32"):
        return onnx_bytes
    import onnx
    from onnx import helper, numpy_helper, shape_inference

    model = onnx.load_model_from_string(onnx_bytes)
    g = model.graph
    try:
        types = {
            v.name: v.type.tensor_type.elem_type
            for v in (*shape_inference.infer_shapes(model).graph.value_info, *g.input, *g.output)
        }
    except Exception:  # shape inference gave up: fall back to the declared I/O types only
        types = {v.name: v.type.tensor_type.elem_type for v in (*g.input, *g.output)}
    inits = {t.name: t for t in g.initializer}
    for t in g.initializer:
        if t.data_type != _FLOAT:
            continue
        arr = numpy_helper.to_array(t)
        if math == "fp16":
            t.CopyFrom(numpy_helper.from_array(arr.astype(np.float16).astype(np.float32), t.name))
        elif any(n.op_type in _TF32_OPS and t.name in n.input[:2] for n in g.node):
            t.CopyFrom(numpy_helper.from_array(tf32_round(arr), t.name))
    new_nodes = []
    if math == "tf32":
        g.initializer.append(numpy_helper.from_array(np.array(_TF32_SPLIT), "fake_tf32_split"))
        for k, node in enumerate(g.node):
            for i, name in enumerate(node.input[:2]):
                if node.op_type in _TF32_OPS and name not in inits and types.get(name) == _FLOAT:
                    p, u, r = (f"fake_tf32_{k}_{i}_{s}" for s in ("p", "u", "r"))
                    new_nodes += [
                        helper.make_node("Mul", [name, "fake_tf32_split"], [p]),
                        helper.make_node("Sub", [p, name], [u]),
                        helper.make_node("Sub", [p, u], [r]),
                    ]
                    node.input[i] = r
            new_nodes.append(node)
    else:  # fp16: every float activation is stored as float16 between layers
        for k, node in enumerate(g.node):
            new_nodes.append(node)
            if node.op_type == "Constant":
                continue
            for j, name in enumerate(node.output):
                if types.get(name) != _FLOAT:
                    continue
                raw, half = f"fake_fp16_{k}_{j}_raw", f"fake_fp16_{k}_{j}_half"
                node.output[j] = raw  # consumers keep reading `name`, now rounded through float16
                new_nodes += [
                    helper.make_node("Cast", [raw], [half], to=_FLOAT16),
                    helper.make_node("Cast", [half], [name], to=_FLOAT),
                ]
    del g.node[:]
    g.node.extend(new_nodes)
    return model.SerializeToString()


class IExecutionContext:
    def __init__(self, engine: ICudaEngine) -> None:
        self.engine = engine
        self._shapes: dict[str, Dims] = {}
        self._addr: dict[str, int] = {}
        self.active_optimization_profile = 0
        self.shape_log: list[tuple[str, tuple[int, ...]]] = []  # fake-only: what set_input_shape saw
        self.executions = 0  # fake-only

    def _err(self, msg: str) -> bool:
        self.engine._logger.log(ILogger.ERROR, msg)
        return False

    def set_optimization_profile_async(self, profile_index: int, stream_handle: int) -> bool:
        self.active_optimization_profile = profile_index
        return True

    def set_input_shape(self, name: str, shape: Any) -> bool:
        shape = Dims(int(d) for d in shape)
        self.shape_log.append((name, tuple(shape)))
        if self.engine.get_tensor_mode(name) != TensorIOMode.INPUT:
            return self._err(f"setInputShape: {name} is not an input tensor")
        mn, _, mx = self.engine.get_tensor_profile_shape(name, self.active_optimization_profile)
        if len(shape) != len(mn) or any(not a <= s <= b for a, s, b in zip(mn, shape, mx, strict=True)):
            return self._err(
                "IExecutionContext::setInputShape: Error Code 3: API Usage Error "
                f"(Supplied dimensions {tuple(shape)} "
                f"for tensor {name} are out of the profile's bounds min={tuple(mn)} max={tuple(mx)})"
            )
        self._shapes[name] = shape
        return True

    @property
    def all_binding_shapes_specified(self) -> bool:
        return all(n in self._shapes for n in self._inputs())

    def _inputs(self) -> list[str]:
        e = self.engine
        return [
            e.get_tensor_name(i)
            for i in range(e.num_io_tensors)
            if e.get_tensor_mode(e.get_tensor_name(i)) == TensorIOMode.INPUT
        ]

    def _outputs(self) -> list[str]:
        e = self.engine
        return [
            e.get_tensor_name(i)
            for i in range(e.num_io_tensors)
            if e.get_tensor_mode(e.get_tensor_name(i)) == TensorIOMode.OUTPUT
        ]

    def _zeros_feeds(self) -> dict[str, np.ndarray]:
        return {n: np.zeros(self._shapes[n], nptype(self.engine.get_tensor_dtype(n))) for n in self._inputs()}

    def get_tensor_shape(self, name: str) -> Dims:
        if name in self._shapes:
            return self._shapes[name]
        if self.engine.get_tensor_mode(name) == TensorIOMode.OUTPUT and self.all_binding_shapes_specified:
            return Dims(
                self.engine._run(self._zeros_feeds())[name].shape
            )  # shape inference, the slow honest way
        return self.engine.get_tensor_shape(name)

    def set_tensor_address(self, name: str, memory: int) -> bool:
        if self.engine.get_tensor_mode(name) == TensorIOMode.NONE:
            return self._err(f"setTensorAddress: {name} is not an I/O tensor")
        self._addr[name] = int(memory)
        return True

    def get_tensor_address(self, name: str) -> int:
        return self._addr.get(name, 0)

    def execute_async_v3(self, stream_handle: int) -> bool:
        from pycuda import driver as cuda

        if cuda.Context.get_current() is None:
            return self._err("Cuda Runtime (invalid device context)")
        for n in self._inputs():
            if n not in self._shapes:
                return self._err(
                    f"Error Code 3: API Usage Error (Input shape of tensor {n} is not specified)"
                )
        for n in self._inputs() + self._outputs():
            if n not in self._addr:
                return self._err(f"Error Code 3: API Usage Error (Address is not set for tensor {n})")
        shapes = {n: tuple(self._shapes[n]) for n in self._inputs()}
        addr = dict(self._addr)
        engine = self.engine
        self.executions += 1

        def op() -> None:
            feeds = {}
            for n, shp in shapes.items():
                dt = np.dtype(nptype(engine.get_tensor_dtype(n)))
                raw = cuda.device_view(addr[n], volume(shp) * dt.itemsize)
                feeds[n] = raw.view(dt).reshape(shp).copy()
            for n, arr in engine._run(feeds).items():
                dt = np.dtype(nptype(engine.get_tensor_dtype(n)))
                out = np.ascontiguousarray(arr, dtype=dt)
                cuda.device_view(addr[n], out.nbytes)[:] = out.reshape(-1).view(np.uint8)

        cuda.enqueue(int(stream_handle), op)
        return True
