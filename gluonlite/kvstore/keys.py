"""Key/value argument handling shared by every KVStore method (MXNet's ``_ctype_key_value``).

A call names one key with one NDArray or a list of NDArrays (one per device), or a list of
keys with one such value per key. Keys are ``int`` or ``str``, never both in one call.
"""
from __future__ import annotations

from ..ndarray import NDArray

__all__ = ["key_value_pairs", "group_pairs"]


def _values_of(key, value, what):
    if isinstance(value, NDArray):
        return [value]
    if isinstance(value, (list, tuple)) and value:
        for v in value:
            if not isinstance(v, NDArray):
                raise TypeError(f"{what}: expected an NDArray or a list of NDArrays for key "
                                f"{key!r}, got a list holding {type(v).__name__}")
        return list(value)
    raise TypeError(f"{what}: expected an NDArray or a non-empty list of NDArrays for key "
                    f"{key!r}, got {type(value).__name__}")


def _check_key(key):
    # MXNet asserts the key type; bool is an int there too
    if not isinstance(key, (int, str)):
        raise AssertionError(f"unexpected type for keys: {type(key)} (expected int or str)")
    return isinstance(key, str)


def key_value_pairs(key, value, what="value"):
    """``(pairs, use_str_keys)``: a flat list of ``(key, NDArray)`` in call order.

    ``key`` is a key or a list of keys; ``value`` the matching NDArray / list of NDArrays,
    or a list of those (one per key). ``what`` names the argument in errors.
    """
    if isinstance(key, (list, tuple)):
        if not isinstance(value, (list, tuple)) or len(key) != len(value):
            got = len(value) if isinstance(value, (list, tuple)) else type(value).__name__
            raise AssertionError(f"{what}: expected one value per key ({len(key)} keys), "
                                 f"got {got}")
        pairs, use_str = [], None
        for k, v in zip(key, value):
            is_str = _check_key(k)
            if use_str is not None and use_str != is_str:
                raise AssertionError("inconsistent types of keys detected.")
            use_str = is_str
            pairs.extend((k, a) for a in _values_of(k, v, what))
        return pairs, use_str
    use_str = _check_key(key)
    return [(key, a) for a in _values_of(key, value, what)], use_str


def group_pairs(pairs):
    """``[(key, [arrays])]`` with the arrays of a repeated key merged, keys in first-seen
    order (MXNet groups a push's values by key before reducing them)."""
    groups = {}
    for k, a in pairs:
        groups.setdefault(k, []).append(a)
    return list(groups.items())
