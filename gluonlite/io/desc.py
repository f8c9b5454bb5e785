"""``DataDesc`` and ``DataBatch``: what MXNet 1.9.1's data iterators describe and return."""
from __future__ import annotations

from collections import namedtuple

import numpy as np

__all__ = ["DataDesc", "DataBatch"]


class DataDesc(namedtuple("DataDesc", ["name", "shape"])):
    """Name, shape, dtype and layout of one data or label input (MXNet's ``io.DataDesc``).

    A ``(name, shape)`` namedtuple, so ``name, shape = desc`` and ``desc[1]`` work as in
    MXNet, with two extra attributes: ``dtype`` (default ``numpy.float32``) and ``layout``
    (default ``'NCHW'``; ``'N'`` marks the batch axis, see :meth:`get_batch_axis`).
    """

    def __new__(cls, name, shape, dtype=np.float32, layout="NCHW"):
        ret = super().__new__(cls, name, shape)
        ret.dtype = dtype
        ret.layout = layout
        return ret

    def __repr__(self):
        return f"DataDesc[{self.name},{self.shape},{self.dtype},{self.layout}]"

    # keep dtype and layout on pickled and copied descs (a namedtuple would drop them)
    def __reduce__(self):
        return (DataDesc, (self.name, self.shape, self.dtype, self.layout))

    @staticmethod
    def get_batch_axis(layout):
        """The batch axis of ``layout``: the position of ``'N'`` (-1 if absent: the array is
        copied whole to every device); ``0`` when ``layout`` is None."""
        if layout is None:
            return 0
        return layout.find("N")

    @staticmethod
    def get_list(shapes, types):
        """``DataDesc`` objects from ``[(name, shape), ...]`` and, if not None,
        ``[(name, dtype), ...]`` (looked up by name)."""
        if types is not None:
            type_dict = dict(types)
            return [DataDesc(x[0], x[1], type_dict[x[0]]) for x in shapes]
        return [DataDesc(x[0], x[1]) for x in shapes]


class DataBatch:
    """One batch from a data iterator (MXNet's ``io.DataBatch``).

    ``data`` and ``label`` are lists of NDArrays (``label`` may be None or empty), ``pad``
    the number of examples at the end of the batch that only fill it up (to be ignored in
    prediction), ``index`` the examples' indices (or None), ``bucket_key`` the key a
    ``BucketingModule`` switches on, ``provide_data`` / ``provide_label`` optional lists of
    :class:`DataDesc` describing this batch when it differs from the iterator's.
    """

    def __init__(self, data, label=None, pad=None, index=None, bucket_key=None,
                 provide_data=None, provide_label=None):
        if data is not None and not isinstance(data, (list, tuple)):
            raise AssertionError("Data must be list of NDArrays")
        if label is not None and not isinstance(label, (list, tuple)):
            raise AssertionError("Label must be list of NDArrays")
        self.data = data
        self.label = label
        self.pad = pad
        self.index = index
        self.bucket_key = bucket_key
        self.provide_data = provide_data
        self.provide_label = provide_label

    def __str__(self):
        data_shapes = [d.shape for d in self.data]
        label_shapes = [lab.shape for lab in self.label] if self.label else None
        return (f"{self.__class__.__name__}: data shapes: {data_shapes} "
                f"label shapes: {label_shapes}")
