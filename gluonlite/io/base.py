"""``DataIter``: the base class of MXNet 1.9.1's data iterators (``mx.io.DataIter``)."""
from __future__ import annotations

from .desc import DataBatch

__all__ = ["DataIter"]


class DataIter:
    """Base class of data iterators (MXNet's ``io.DataIter``).

    An iterator yields :class:`DataBatch` objects and raises ``StopIteration`` at the end of
    an epoch; ``reset()`` starts the next epoch. Subclasses either override ``next`` (and
    ``reset``, ``provide_data``, ``provide_label``), or the cursor protocol the default
    ``next`` uses: ``iter_next()`` moves to the next batch and returns whether there is one,
    then ``getdata()``, ``getlabel()``, ``getpad()`` and ``getindex()`` describe it.

    ``batch_size`` is an attribute (0 unless given), as in MXNet.
    """

    def __init__(self, batch_size=0):
        self.batch_size = batch_size

    def __iter__(self):
        return self

    def reset(self):
        """Reset the iterator to the beginning of the data (no-op here)."""

    def next(self):
        """The next :class:`DataBatch`; raises ``StopIteration`` at the end of the data."""
        if self.iter_next():
            return DataBatch(data=self.getdata(), label=self.getlabel(),
                             pad=self.getpad(), index=self.getindex())
        raise StopIteration

    def __next__(self):
        return self.next()

    def iter_next(self):
        """Move to the next batch; return whether there is one (None here, as in MXNet,
        which the default ``next`` reads as the end of the data)."""
        return None

    def getdata(self):
        """The current batch's data: a list of NDArrays (None here)."""
        return None

    def getlabel(self):
        """The current batch's label: a list of NDArrays (None here)."""
        return None

    def getindex(self):
        """The current batch's example indices as a numpy array, or None."""
        return None

    def getpad(self):
        """How many examples at the end of the current batch are padding (None here)."""
        return None
