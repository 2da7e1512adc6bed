"""Messages between the run and its isolated adapter process (:mod:`wmbench.run.isolated`).

A message is one JSON header followed by the raw bytes of the tensors it holds; never
pickle, so that reading what a hostile adapter process sends cannot run its code. JSON
values pass as they are (tuples become lists); a tensor passes with its dtype, shape and
device; any other object passes as a stand-in of the same type name, which the checks
of the run then refuse as they would the object itself.
"""

from __future__ import annotations

import json
from functools import cache
from multiprocessing.connection import Connection
from typing import Any

import torch

DTYPES = {
    str(d).removeprefix("torch."): d
    for d in (
        torch.float64,
        torch.float32,
        torch.float16,
        torch.bfloat16,
        torch.int64,
        torch.int32,
        torch.int16,
        torch.int8,
        torch.uint8,
        torch.bool,
    )
}
#: Devices a tensor may name; any other is refused.
DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu", "meta")
#: The largest message part accepted (bytes).
MAX_PART = 2**36


class WireError(Exception):
    """A message that does not follow this format."""


@cache
def stand_in(type_name: str) -> type:
    """A class named ``type_name``: what an object that cannot cross becomes."""
    return type(type_name, (), {"__repr__": lambda self: f"<{type_name} (not sent across processes)>"})


def _encode(value: Any, buffers: list[bytes]) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_encode(v, buffers) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"$dict": {k: _encode(v, buffers) for k, v in value.items()}}
    if isinstance(value, torch.Tensor) and str(value.dtype).removeprefix("torch.") in DTYPES:
        record = {
            "$tensor": len(buffers),
            "dtype": str(value.dtype).removeprefix("torch."),
            "shape": list(value.shape),
            "device": str(value.device),
        }
        data = b"" if value.is_meta else value.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy()
        buffers.append(bytes(data))
        return record
    return {"$object": type(value).__name__}


def _decode(value: Any, buffers: list[bytes]) -> Any:
    if isinstance(value, list):
        return [_decode(v, buffers) for v in value]
    if not isinstance(value, dict):
        return value
    if "$dict" in value:
        return {k: _decode(v, buffers) for k, v in value["$dict"].items()}
    if "$object" in value:
        return stand_in(str(value["$object"]))()
    return _tensor(value, buffers)


def _tensor(record: dict[str, Any], buffers: list[bytes]) -> torch.Tensor:
    try:
        dtype, shape, device = (
            DTYPES[record["dtype"]],
            [int(n) for n in record["shape"]],
            torch.device(record["device"]),
        )
        data = buffers[int(record["$tensor"])]
    except (KeyError, ValueError, TypeError, IndexError, RuntimeError) as exc:
        raise WireError(f"malformed tensor record {record!r}") from exc
    if device.type not in DEVICE_TYPES or any(n < 0 for n in shape):
        raise WireError(f"malformed tensor record {record!r}")
    if device.type == "meta":
        return torch.empty(shape, dtype=dtype, device="meta")
    numel = 1
    for n in shape:
        numel *= n
    if len(data) != numel * dtype.itemsize:
        raise WireError(f"tensor of shape {shape} and dtype {record['dtype']} sent with {len(data)} bytes")
    if not numel:
        return torch.empty(shape, dtype=dtype, device=device)
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).view(dtype).reshape(shape).to(device)


def send(connection: Connection, message: dict[str, Any]) -> None:
    """Send ``message`` (a dict of the values described in the module docstring)."""
    buffers: list[bytes] = []
    header = json.dumps(_encode(message, buffers), allow_nan=True).encode()
    connection.send_bytes(json.dumps(len(buffers)).encode())
    connection.send_bytes(header)
    for buffer in buffers:
        connection.send_bytes(buffer)


def receive(connection: Connection) -> dict[str, Any]:
    """The next message; :class:`WireError` when it does not follow the format."""
    try:
        count = json.loads(connection.recv_bytes(MAX_PART))
        header = json.loads(connection.recv_bytes(MAX_PART))
        if not isinstance(count, int) or count < 0:
            raise WireError(f"malformed message: {count!r} parts")
        buffers = [connection.recv_bytes(MAX_PART) for _ in range(count)]
    except (ValueError, OSError, RecursionError) as exc:  # bad JSON, a part over the size limit
        raise WireError(f"malformed message: {exc}") from exc
    message = _decode(header, buffers)
    if not isinstance(message, dict):
        raise WireError("malformed message: not a mapping")
    return message
