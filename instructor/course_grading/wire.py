"""The grading boundary's wire: what a worker sends reaches the trusted process as data, never as code.

A message is a frame: an 8-byte length of a JSON header, an 8-byte length of
a binary part, then both. From the worker (which runs student code) the binary
part is a safetensors file: tensors as dtype, shape and raw bytes, parsed by
safetensors' own checked reader. The header holds numbers, strings, ``None``
and booleans, and tagged objects (:func:`decode`) for tuples, lists, dicts,
dtypes, tensors and handles of objects that stay in the worker. Nothing the
worker sends is ever unpickled, ``eval``-ed or ``torch.load``-ed: the decoder
builds only the types listed here, and refuses anything else, too deep, too
many or too large (:class:`Caps`).

Into the worker (the other direction) a request is a pickle: test code and
test objects may travel into the student's process (see
:mod:`course_grading.boundary`); that side never reads a pickle the worker wrote.
"""

from __future__ import annotations

import json
import math
import os
import select
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from course_grading import processes

_FRAME = struct.Struct(">QQ")


class WireError(Exception):
    """A message broke the wire's rules (too large, malformed, an unknown tag): the worker is not trusted again."""


@dataclass(frozen=True)
class Caps:
    """Limits on one message from the worker."""

    header_bytes: int = 8 * 2**20
    blob_bytes: int = 512 * 2**20
    depth: int = 32
    items: int = 200_000

    @classmethod
    def from_environment(cls) -> Caps:
        """Caps with the binary part from ``COURSE_GRADER_WIRE_MB`` when set."""
        value = os.environ.get(processes.WIRE_MB)
        return cls(blob_bytes=int(value) * 2**20) if value else cls()


def send(sock: socket.socket, header: dict[str, Any], blob: bytes = b"") -> None:
    """Send one frame (the header as JSON, strict: no nan, no infinity)."""
    text = json.dumps(header, allow_nan=False, separators=(",", ":")).encode()
    sock.sendall(_FRAME.pack(len(text), len(blob)) + text)
    if blob:
        sock.sendall(blob)


def _read_exact(sock: socket.socket, size: int, deadline: float | None) -> bytes:
    chunks, left = [], size
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([sock], [], [], wait)[0]:
                raise TimeoutError("the worker did not answer in time")
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise EOFError("the worker ended")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def receive(sock: socket.socket, caps: Caps, deadline: float | None = None) -> tuple[Any, bytes]:
    """One frame: (the parsed JSON header, the binary part). Sizes are checked before anything is read."""
    header_size, blob_size = _FRAME.unpack(_read_exact(sock, _FRAME.size, deadline))
    if header_size > caps.header_bytes:
        raise WireError(f"a header over {caps.header_bytes} bytes")  # (never the size sent: a worker chooses it)
    if blob_size > caps.blob_bytes:
        raise WireError(f"a binary part over {caps.blob_bytes} bytes")
    text = _read_exact(sock, header_size, deadline)
    blob = _read_exact(sock, blob_size, deadline) if blob_size else b""
    try:
        header = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        raise WireError(f"the header is not JSON ({type(error).__name__})") from None
    return header, blob


def _refuse_constant(name: str) -> None:
    raise WireError(f"{name} is not allowed in a header (non-finite floats are tagged)")


# -- values ---------------------------------------------------------------------------------------

_DTYPES = {str(d).removeprefix("torch."): d for d in (
    torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.int64, torch.int32, torch.int16,
    torch.int8, torch.uint8, torch.bool)}
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class Encoder:
    """Encodes a worker's values as a JSON-able tree and a list of tensors (worker side).

    ``handle`` turns an object that cannot travel as data into a handle
    description (a dict), or returns None to refuse it.
    """

    def __init__(self, handle: Callable[[Any], dict[str, Any] | None]) -> None:
        self._handle = handle
        self.tensors: dict[str, torch.Tensor] = {}
        self._ids: dict[int, str] = {}

    def tensor(self, value: torch.Tensor) -> dict[str, Any]:
        key = self._ids.get(id(value))
        if key is None:
            if value.dtype not in _DTYPES.values():
                raise TypeError(f"a tensor of dtype {value.dtype} cannot leave the worker")
            if value.layout != torch.strided:
                value = value.to_dense()
            key = str(len(self.tensors))
            self.tensors[key] = value.detach().to("cpu").clone().contiguous()
            self._ids[id(value)] = key
        return {"T": key, "g": bool(value.requires_grad), "p": isinstance(value, torch.nn.Parameter)}

    def encode(self, value: Any, depth: int = 0) -> Any:
        if depth > 30:
            raise TypeError("the value is nested too deeply to leave the worker")
        kind = type(value)
        if value is None or kind is bool or kind is str:
            return value
        if kind is int:
            return value if abs(value) < 2**63 else {"I": str(value)}
        if kind is float:
            return value if math.isfinite(value) else {"F": repr(value)}
        if isinstance(value, torch.Tensor):
            return self.tensor(value)
        if kind is torch.dtype:
            return {"dt": str(value).removeprefix("torch.")}
        if kind is torch.Size:
            return {"S": [int(d) for d in value]}
        if kind is list:
            return {"L": [self.encode(v, depth + 1) for v in value]}
        if isinstance(value, tuple) and kind.__module__ == "builtins" or _is_namedtuple(value):
            return {"U": [self.encode(v, depth + 1) for v in value]}
        if kind is dict:
            return {"D": [[self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in value.items()]}
        numpy_value = _numpy_scalar(value)
        if numpy_value is not None:
            return {"N": self.encode(numpy_value, depth + 1), "nt": type(value).__name__}
        handle = self._handle(value)
        if handle is None:
            raise TypeError(f"a {kind.__name__} cannot leave the worker")
        return {"H": handle}

    def blob(self) -> bytes:
        if not self.tensors:
            return b""
        from safetensors.torch import save

        return save(self.tensors)


def _is_namedtuple(value: Any) -> bool:
    return isinstance(value, tuple) and hasattr(type(value), "_fields")


def _numpy_scalar(value: Any) -> int | float | bool | None:
    try:
        import numpy
    except ImportError:
        return None
    if isinstance(value, numpy.generic) and isinstance(value, (numpy.floating, numpy.integer, numpy.bool_)):
        return value.item()
    return None


def load_tensors(blob: bytes) -> dict[str, torch.Tensor]:
    """The tensors of a binary part, read by safetensors (which checks its header and sizes)."""
    if not blob:
        return {}
    from safetensors.torch import load

    try:
        return load(blob)
    except Exception as error:  # noqa: BLE001 - any parse failure is the worker's fault
        raise WireError(f"the tensors are not a valid safetensors file ({type(error).__name__})") from None


class Decoder:
    """Decodes a worker's JSON tree into trusted Python values (trusted side).

    ``handle`` builds the trusted stand-in of a handle description; the
    decoder itself creates only None, bool, int, float, str, list, tuple,
    dict, torch.dtype, torch.Size, NumPy scalars and tensors.
    """

    def __init__(self, tensors: dict[str, torch.Tensor], handle: Callable[[dict[str, Any], Decoder], Any],
                 caps: Caps = Caps()) -> None:
        self._tensors = tensors
        self._handle = handle
        self._caps = caps
        self._count = 0
        self._made: dict[str, torch.Tensor] = {}

    def decode(self, tree: Any, depth: int = 0) -> Any:
        self._count += 1
        if self._count > self._caps.items:
            raise WireError(f"more than {self._caps.items} values in one message")
        if depth > self._caps.depth:
            raise WireError(f"values nested more than {self._caps.depth} deep")
        if tree is None or type(tree) in (bool, str, float):
            return tree
        if type(tree) is int:
            return tree
        if type(tree) is list:
            raise WireError("an untagged list")
        if type(tree) is not dict or len(tree) == 0:
            raise WireError(f"an unexpected value of type {type(tree).__name__}")
        tag = next(iter(tree))
        body = tree[tag]
        if tag == "T":
            return self.tensor(tree)
        if tag == "L" and type(body) is list and len(tree) == 1:
            return [self.decode(v, depth + 1) for v in body]
        if tag == "U" and type(body) is list and len(tree) == 1:
            return tuple(self.decode(v, depth + 1) for v in body)
        if tag == "D" and type(body) is list and len(tree) == 1:
            result = {}
            for pair in body:
                if type(pair) is not list or len(pair) != 2:
                    raise WireError("a dict entry is not a pair")
                key = self.decode(pair[0], depth + 1)
                if key is not None and type(key) not in (str, int, float, bool):
                    raise WireError("a dict key that is not a number, a string or None")
                result[key] = self.decode(pair[1], depth + 1)
            return result
        if tag == "F" and body in _NON_FINITE and len(tree) == 1:
            return _NON_FINITE[body]
        if tag == "I" and type(body) is str and len(body) < 5000 and len(tree) == 1:
            try:
                return int(body)
            except ValueError:
                raise WireError("a big integer that is not an integer") from None
        if tag == "dt" and body in _DTYPES and len(tree) == 1:
            return _DTYPES[body]
        if tag == "S" and type(body) is list and all(type(d) is int and d >= 0 for d in body) and len(tree) == 1:
            return torch.Size(body)
        if tag == "N" and set(tree) == {"N", "nt"}:
            import numpy

            value = self.decode(body, depth + 1)
            kind = {"float64": numpy.float64, "float32": numpy.float32, "int64": numpy.int64,
                    "int32": numpy.int32, "bool": numpy.bool_}.get(tree["nt"])
            if kind is None or type(value) not in (int, float, bool):
                raise WireError("an unknown NumPy scalar")
            return kind(value)
        if tag == "H" and type(body) is dict and len(tree) == 1:
            return self._handle(body, self)
        raise WireError("an unknown or malformed tag")

    def tensor(self, tree: dict[str, Any]) -> torch.Tensor:
        key = tree.get("T")
        if set(tree) != {"T", "g", "p"} or type(key) is not str or key not in self._tensors:
            raise WireError("a tensor that is not in the message")
        if type(tree["g"]) is not bool or type(tree["p"]) is not bool:
            raise WireError("a tensor's flags are not booleans")
        made = self._made.get(key)
        if made is None:
            made = self._tensors[key]
            if tree["p"]:
                made = torch.nn.Parameter(made, requires_grad=False)
            if tree["g"] and made.is_floating_point() and not made.requires_grad:
                # It required grad in the worker, with no input of the test behind it (those come back as
                # outputs of the gradient bridge, already requiring grad): here it is a leaf that does.
                made.requires_grad_(True)
            self._made[key] = made
        return made
