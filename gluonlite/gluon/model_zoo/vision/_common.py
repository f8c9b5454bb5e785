"""What the vision models share: argument checks and loading pretrained weights."""
from __future__ import annotations

import numbers

from ..model_store import get_model_file

__all__ = []


def check_classes(model, classes):
    """``classes`` must be a positive int: the width of the output layer."""
    if isinstance(classes, bool) or not isinstance(classes, numbers.Integral) or classes < 1:
        raise ValueError(f"{model}: classes must be a positive int (number of output classes), "
                         f"got {classes!r}")


def check_choice(model, argname, value, choices):
    """``value`` must be one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{model}: invalid {argname} {value!r}; options are "
                         f"{', '.join(repr(c) for c in choices)}")


def load_pretrained(net, name, ctx, root):
    """Load MXNet's pretrained weights for model ``name`` (``model_store`` file) into
    ``net`` on ``ctx``."""
    net.load_parameters(get_model_file(name, root=root), ctx=ctx)
    return net
