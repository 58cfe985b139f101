"""Shape and argument checks shared by the NumPy and the torch backend.

``checked`` is what every public function of both backends runs on its first line
(through the backend's ``_checked``): it converts the arrays, scans them for NaN and
inf, applies the shape rules, and checks that the scores fit the dtype. The rules work
on shapes (tuples) and plain Python values only, so both backends raise exactly the
same errors with exactly the same messages; what depends on the array library (how to
convert, scan, compare devices) is a small ``Rules`` object each backend supplies.
Every message names the shapes involved: a reader who passes the wrong thing should
see at once which array is wrong and how.
"""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

Shape = Sequence[int]

#: The arguments that are arrays, by the names the public functions use.
ARRAYS = frozenset(
    {"q", "k", "v", "scores", "weights", "x", "w_q", "w_k", "w_v", "w_o"}
)


class _Array(Protocol):
    """What ``checked`` uses of an array: its shape, and slicing."""

    @property
    def shape(self) -> Any: ...

    def __getitem__(self, key: Any, /) -> Any: ...


A = TypeVar("A", bound=_Array)  # the backend's array type: np.ndarray or torch.Tensor


class Rules(ABC, Generic[A]):
    """What a backend supplies to ``checked``: the few steps that depend on its array
    type. Everything else (which rules apply, in which order, the messages, when to
    scan for NaN and inf) is ``checked``'s, once for both backends.
    """

    @abstractmethod
    def as_array(self, value: Any, name: str) -> A:
        """``value`` as a floating-point array, or a TypeError saying why not."""
        raise NotImplementedError

    @abstractmethod
    def all_finite(self, a: A) -> bool:
        """True when no entry of ``a`` is NaN or inf."""
        raise NotImplementedError

    def same_device_and_dtype(self, arrays: dict[str, A]) -> dict[str, A]:
        """The arrays made compatible with each other (by default: as they are)."""
        return arrays

    @abstractmethod
    def as_mask(self, mask: Any, scores_shape: Shape, like: A) -> A:
        """``mask`` as a boolean array that broadcasts to ``scores_shape``."""
        raise NotImplementedError

    def as_out(self, out: Any, scores: A) -> A:
        """``normalize(..., out=out)``: where the weights are written."""
        raise TypeError("out= is not supported by this backend")

    @abstractmethod
    def limits(self, q: A, k: A) -> tuple[float, float, object]:
        """The largest finite number, the machine epsilon and the dtype of the scores
        of q and k.
        """
        raise NotImplementedError

    @abstractmethod
    def largest_magnitude(self, a: A) -> float:
        """max |a| (0 for an empty array)."""
        raise NotImplementedError

    @abstractmethod
    def scores_finite(self, q: A, k: A, scale: float) -> bool:
        """True when every score (q · scale) @ kᵀ is finite."""
        raise NotImplementedError


def checked(
    rules: Rules[A], args: Mapping[str, Any], *, check_finite: bool = True
) -> tuple[Any, ...]:
    """The arguments of a public function, checked and converted, in the order given.

    ``args`` has the function's own argument names, e.g. ``{"q": q, "k": k, "scale":
    scale}``: which shape rules apply follows from the names (``check_arguments``).
    Arrays are converted by ``rules.as_array``; each is scanned for NaN and inf unless
    ``check_finite`` is False, which the caller says explicitly when it hands over
    arrays it computed itself from checked inputs (``attention`` passes its scores to
    ``normalize`` that way: a second scan would cost a pass over the whole (..., n, m)
    matrix). ``mask`` becomes a boolean array that broadcasts to the scores, ``scale`` a
    float (1/√d_k when None). When q and k are given, their scores are checked to fit
    the dtype (an overflow raises here, before any math).
    """
    arrays = {}
    for name, value in args.items():
        if name in ARRAYS:
            arrays[name] = rules.as_array(value, name)
            if check_finite and not rules.all_finite(arrays[name]):
                raise ValueError(
                    f"{name} contains NaN or inf (shape {_fmt(arrays[name].shape)}); "
                    "attention needs finite inputs"
                )
    arrays = rules.same_device_and_dtype(arrays)
    others = {name: value for name, value in args.items() if name not in ARRAYS}
    values = check_arguments({name: a.shape for name, a in arrays.items()}, others)
    if values.get("mask") is not None:
        like = next(iter(arrays.values()))
        values["mask"] = rules.as_mask(values["mask"], values["mask_shape"], like)
    if values.get("out") is not None:
        values["out"] = rules.as_out(values["out"], arrays["scores"])
    if "q" in arrays:
        check_scores_fit(rules, arrays["q"], arrays["k"], values["scale"])
    return tuple(arrays[name] if name in arrays else values[name] for name in args)


def check_scores_fit(rules: Rules[A], q: A, k: A, scale: float) -> None:
    """Raise the overflow error when (q · scale) @ kᵀ does not fit the dtype (it never
    does for sane inputs).
    """
    largest, eps, dtype = rules.limits(q, k)
    q_max, k_max = rules.largest_magnitude(q), rules.largest_magnitude(k)
    d_k, n, m = q.shape[-1], q.shape[-2], k.shape[-2]
    if scores_cannot_overflow(q_max, k_max, scale, d_k, largest, eps):
        return
    # compute the scores a stripe of queries at a time to find out
    rows = max(1, 2**20 // max(1, m))
    for start in range(0, n, rows):
        if not rules.scores_finite(q[..., start : start + rows, :], k, scale):
            raise overflow_error(dtype)


def _fmt(shape: Shape) -> str:
    return str(tuple(int(s) for s in shape))


def check_ndim(name: str, shape: Shape, minimum: int = 2) -> None:
    """Raise ValueError when an array has fewer than ``minimum`` dimensions."""
    if len(shape) < minimum:
        raise ValueError(
            f"{name} must have at least {minimum} dimensions (..., tokens, features), "
            f"got shape {_fmt(shape)}; for a single vector use {name}[None, :]"
        )


def broadcast_batch(named_shapes: Mapping[str, Shape]) -> tuple[int, ...]:
    """Broadcast the leading (batch) dimensions,
    everything but the last two, of several arrays.

    Follows NumPy's and torch's broadcasting rules;
    raises ValueError naming every shape when they clash.
    """
    batches = [tuple(shape[:-2]) for shape in named_shapes.values()]
    result = []
    for i in range(1, max(map(len, batches), default=0) + 1):  # aligned from the right
        sizes = {b[-i] for b in batches if len(b) >= i} - {1}
        if len(sizes) > 1:
            listing = ", ".join(f"{k} {_fmt(s)}" for k, s in named_shapes.items())
            raise ValueError(f"batch dimensions do not broadcast: {listing}")
        result.append(sizes.pop() if sizes else 1)
    return tuple(reversed(result))


def check_qk(q_shape: Shape, k_shape: Shape) -> None:
    """q (..., n, d_k) and k (..., m, d_k) must share d_k and have
    broadcastable batch dimensions.
    """
    check_ndim("q", q_shape)
    check_ndim("k", k_shape)
    if k_shape[-2] == 0:
        raise ValueError(
            f"k must hold at least one token to attend to, got k {_fmt(k_shape)}"
        )
    if q_shape[-1] != k_shape[-1]:
        raise ValueError(
            "q and k must have the same last dimension d_k, "
            f"got q {_fmt(q_shape)} and k {_fmt(k_shape)}"
        )
    broadcast_batch({"q": q_shape, "k": k_shape})


def check_weights_v(w_shape: Shape, v_shape: Shape, w_name: str = "weights") -> None:
    """weights (..., n, m) and v (..., m, d_v): one weight per value vector."""
    check_ndim(w_name, w_shape)
    check_ndim("v", v_shape)
    if w_shape[-1] != v_shape[-2]:
        raise ValueError(
            f"{w_name} has {w_shape[-1]} columns but v has {v_shape[-2]} rows "
            f"(one per key); got {w_name} {_fmt(w_shape)} and v {_fmt(v_shape)}"
        )
    broadcast_batch({w_name: w_shape, "v": v_shape})


def check_qkv(q_shape: Shape, k_shape: Shape, v_shape: Shape) -> None:
    """All the shape rules of attention(q, k, v)."""
    check_qk(q_shape, k_shape)
    check_ndim("v", v_shape)
    if k_shape[-2] != v_shape[-2]:
        raise ValueError(
            "k and v must have the same number of tokens m, "
            f"got k {_fmt(k_shape)} and v {_fmt(v_shape)}"
        )
    broadcast_batch({"q": q_shape, "k": k_shape, "v": v_shape})


def check_mask(mask_shape: Shape, scores_shape: Shape) -> None:
    """The mask must broadcast to the scores' shape (..., n, m) without enlarging it."""
    n = max(len(mask_shape), len(scores_shape))
    a = (1,) * (n - len(mask_shape)) + tuple(mask_shape)
    b = (1,) * (n - len(scores_shape)) + tuple(scores_shape)
    if len(mask_shape) > len(scores_shape) or any(
        x != y and x != 1 for x, y in zip(a, b, strict=True)
    ):
        raise ValueError(
            f"mask of shape {_fmt(mask_shape)} does not broadcast to the scores' shape "
            f"{_fmt(scores_shape)} (..., n queries, m keys)"
        )


def check_mask_and_causal(mask: object, causal: bool) -> None:
    if mask is not None and causal:
        raise ValueError(
            "pass either mask or causal=True, "
            "not both (build one combined mask instead)"
        )


def check_projections(
    x_shape: Shape, w_shapes: Mapping[str, Shape], *, square: bool = False
) -> None:
    """x (..., n, d_model) and projection matrices w (d_model, ...), or
    (d_model, d_model) when ``square``.
    """
    check_ndim("x", x_shape)
    d_model = x_shape[-1]
    for name, w_shape in w_shapes.items():
        if square and tuple(w_shape) != (d_model, d_model):
            raise ValueError(
                f"{name} must have shape "
                f"(d_model, d_model) = {_fmt((d_model, d_model))} "
                f"with d_model = x.shape[-1], "
                f"got x {_fmt(x_shape)} and {name} {_fmt(w_shape)}"
            )
        if len(w_shape) < 2 or w_shape[-2] != d_model:
            raise ValueError(
                f"{name} must have shape (d_model, ...) "
                f"with d_model = x.shape[-1] = {d_model}, "
                f"got x {_fmt(x_shape)} and {name} {_fmt(w_shape)}"
            )


def check_count(name: str, value: object, *, minimum: int = 0) -> int:
    """A whole number (a Python or NumPy integer, not a bool) of
    at least ``minimum``.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < minimum
    ):
        kind = {0: "a non-negative integer", 1: "a positive integer"}.get(
            minimum, f"an integer ≥ {minimum}"
        )
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    return int(value)


def check_heads(d_model: int, num_heads: object) -> int:
    """The heads split d_model into num_heads slices of
    d_model / num_heads features each.
    """
    num_heads = check_count("num_heads", num_heads, minimum=1)
    if d_model % num_heads:
        raise ValueError(
            f"d_model = {d_model} is not divisible by num_heads = {num_heads}: "
            "every head needs d_model / num_heads features"
        )
    return num_heads


def check_even(what: str, size: int) -> None:
    """Position encodings work on pairs of features,
    so the number of features must be even.
    """
    if size % 2:
        raise ValueError(
            f"{what} must be even (the features come in pairs), got {size}"
        )


def resolve_scale(scale: object, d_k: int) -> float:
    """The factor the scores are multiplied by:
    1/sqrt(d_k) unless the caller gives one.
    """
    if scale is None:
        # math.sqrt, not np.sqrt: keeps float32 inputs float32
        return 1.0 / math.sqrt(d_k)
    return check_real("scale", scale, or_none=True)


def check_real(
    name: str, value: object, *, positive: bool = False, or_none: bool = False
) -> float:
    """A finite real number (a Python or NumPy number, not a bool), optionally > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        expected = "a real number or None" if or_none else "a real number"
        raise ValueError(
            f"{name} must be {expected}, got {value!r} of type {type(value).__name__}"
        )
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return value


def check_arguments(
    shapes: Mapping[str, Shape], values: Mapping[str, Any]
) -> dict[str, Any]:
    """Every rule that concerns the arguments given,
    by the names the public functions use.

    ``shapes`` has the shape of each array argument, ``values`` the other arguments.
    Returns the plain values, checked (``scale`` resolved to a float, counts as ints),
    plus ``"mask_shape"``: the shape (..., n, m) of the scores a mask must broadcast to,
    where a mask is accepted.
    """
    values = dict(values)
    if "scores" in shapes:  # normalize(scores, mask)
        check_ndim("scores", shapes["scores"], minimum=1)
        values["mask_shape"] = shapes["scores"]
    elif "weights" in shapes:  # blend(weights, v)
        check_weights_v(shapes["weights"], shapes["v"])
    elif "q" in shapes:  # score(q, k), attention(q, k, v) and the fast paths
        qkv = {name: shapes[name] for name in ("q", "k", "v") if name in shapes}
        if "v" in qkv:
            check_qkv(qkv["q"], qkv["k"], qkv["v"])
        else:
            check_qk(qkv["q"], qkv["k"])
        values["mask_shape"] = broadcast_batch(qkv) + (shapes["q"][-2], shapes["k"][-2])
        values["scale"] = resolve_scale(values.get("scale"), shapes["q"][-1])
    elif "w_q" in shapes:
        # self_attention(x, w_q, w_k, w_v), multi_head_self_attention(..., w_o)
        w_shapes = {name: shape for name, shape in shapes.items() if name != "x"}
        check_projections(shapes["x"], w_shapes, square="w_o" in shapes)
        if "num_heads" in values:
            values["num_heads"] = check_heads(shapes["x"][-1], values["num_heads"])
    elif "base" in values:  # rotary(x, base)
        check_ndim("x", shapes["x"])
        check_even(f"the last dimension of x {_fmt(shapes['x'])}", shapes["x"][-1])
        values["base"] = check_real("base", values["base"], positive=True)
    elif "x" in shapes:  # softmax(x, axis)
        check_ndim("x", shapes["x"], minimum=1)
    if "d_model" in values:  # sinusoidal_positions(n, d_model)
        values["n"] = check_count("n", values["n"])
        values["d_model"] = check_count("d_model", values["d_model"], minimum=1)
        check_even("d_model", values["d_model"])
    if "causal" in values:
        check_mask_and_causal(values.get("mask"), values["causal"])
    return values


def scores_cannot_overflow(
    q_max: float, k_max: float, scale: float, d_k: int, largest: float, eps: float
) -> bool:
    """True when no score (q · scale) @ kᵀ can overflow, whatever q and k are.

    ``q_max`` and ``k_max`` are the largest absolute entries of q and k; ``largest`` and
    ``eps`` describe the dtype. Each score is a sum of d_k products, each at most
    q_max·|scale|·k_max, and rounding them and their sum makes it at most
    1 / (1 - (d_k + 2)·eps) times larger (Higham's bound). When this says False the
    scores may still fit: the caller computes them to find out.
    """
    rounding = (d_k + 2) * eps
    if rounding >= 0.5:  # a long sum in a short dtype: no useful bound
        return False
    q_scaled = q_max * abs(scale) / (1 - rounding)
    return q_scaled <= largest and d_k * q_scaled * k_max <= largest


def overflow_error(dtype: object) -> ValueError:
    return ValueError(
        f"the scores q·kᵀ·scale overflowed to infinity in {dtype}: "
        "the inputs or the scale are too large for this dtype; "
        "use a smaller scale or a wider dtype (float64)"
    )
