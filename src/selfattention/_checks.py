"""Shape and argument checks shared by the NumPy and the torch backend.

They work on shapes (tuples) and plain Python values only, so both backends raise
exactly the same errors with exactly the same messages. Every message names the
shapes involved: a reader who passes the wrong thing should see at once which
array is wrong and how.
"""

from __future__ import annotations

import math
import numbers


def _fmt(shape) -> str:
    return str(tuple(int(s) for s in shape))


def check_ndim(name: str, shape, minimum: int = 2) -> None:
    """Raise ValueError when an array has fewer than ``minimum`` dimensions."""
    if len(shape) < minimum:
        raise ValueError(
            f"{name} must have at least {minimum} dimensions (..., tokens, features), "
            f"got shape {_fmt(shape)}; for a single vector use {name}[None, :]"
        )


def broadcast_batch(named_shapes: dict[str, tuple]) -> tuple:
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


def check_qk(q_shape, k_shape) -> None:
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


def check_weights_v(w_shape, v_shape, w_name: str = "weights") -> None:
    """weights (..., n, m) and v (..., m, d_v): one weight per value vector."""
    check_ndim(w_name, w_shape)
    check_ndim("v", v_shape)
    if w_shape[-1] != v_shape[-2]:
        raise ValueError(
            f"{w_name} has {w_shape[-1]} columns but v has {v_shape[-2]} rows "
            f"(one per key); got {w_name} {_fmt(w_shape)} and v {_fmt(v_shape)}"
        )
    broadcast_batch({w_name: w_shape, "v": v_shape})


def check_qkv(q_shape, k_shape, v_shape) -> None:
    """All the shape rules of attention(q, k, v)."""
    check_qk(q_shape, k_shape)
    check_ndim("v", v_shape)
    if k_shape[-2] != v_shape[-2]:
        raise ValueError(
            "k and v must have the same number of tokens m, "
            f"got k {_fmt(k_shape)} and v {_fmt(v_shape)}"
        )
    broadcast_batch({"q": q_shape, "k": k_shape, "v": v_shape})


def check_mask(mask_shape, scores_shape) -> None:
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


def check_mask_and_causal(mask, causal: bool) -> None:
    if mask is not None and causal:
        raise ValueError(
            "pass either mask or causal=True, "
            "not both (build one combined mask instead)"
        )


def check_projections(
    x_shape, w_shapes: dict[str, tuple], *, square: bool = False
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


def check_count(name: str, value, *, minimum: int = 0) -> int:
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


def check_heads(d_model: int, num_heads) -> int:
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


def resolve_scale(scale, d_k: int) -> float:
    """The factor the scores are multiplied by:
    1/sqrt(d_k) unless the caller gives one.
    """
    if scale is None:
        # math.sqrt, not np.sqrt: keeps float32 inputs float32
        return 1.0 / math.sqrt(d_k)
    return check_real("scale", scale, or_none=True)


def check_real(
    name: str, value, *, positive: bool = False, or_none: bool = False
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


def check_arguments(shapes: dict[str, tuple], values: dict) -> dict:
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


def overflow_error(dtype) -> ValueError:
    return ValueError(
        f"the scores q·kᵀ·scale overflowed to infinity in {dtype}: "
        "the inputs or the scale are too large for this dtype; "
        "use a smaller scale or a wider dtype (float64)"
    )
