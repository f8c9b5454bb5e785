"""Gluon losses: MXNet 1.9.1's ``mxnet.gluon.loss``.

Every loss is a :class:`~gluonlite.gluon.HybridBlock` written once as
``hybrid_forward(self, F, pred, label, sample_weight=None)`` against the operator
namespace ``F``, exactly as in MXNet 1.x, and returns one loss per sample: the elementwise
loss, multiplied by ``sample_weight`` (broadcast as ``broadcast_mul`` does) and by the
global scalar ``weight``, then averaged over every axis except ``batch_axis`` (some losses
sum instead, as MXNet does; each class says so).

A ``label`` with the same number of elements as ``pred`` but another shape is reshaped to
``pred``'s shape (MXNet's ``_reshape_like``); a different number of elements is an error
naming both shapes. Sparse class labels of :class:`SoftmaxCrossEntropyLoss` are *clipped*
into the class range, as MXNet's ``pick`` does (programs rely on this to pad labels with
-1 and mask them with ``sample_weight``).
"""
from __future__ import annotations

import math
import numbers

from .. import ndarray as _nd
from ..base import MXNetError
from ..ndarray import NDArray
from .block import HybridBlock

__all__ = ["Loss", "L2Loss", "L1Loss", "SigmoidBinaryCrossEntropyLoss", "SigmoidBCELoss",
           "SoftmaxCrossEntropyLoss", "SoftmaxCELoss", "KLDivLoss", "CTCLoss", "HuberLoss",
           "HingeLoss", "SquaredHingeLoss", "LogisticLoss", "TripletLoss", "PoissonNLLLoss",
           "CosineEmbeddingLoss", "SDMLLoss"]


def _is_number(x):
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _broadcast_ok(a, b):
    for x, y in zip(reversed(a), reversed(b)):
        if x != y and x != 1 and y != 1:
            return False
    return True


def _apply_weighting(F, loss, weight=None, sample_weight=None):
    """``loss * sample_weight`` (broadcast both ways, as ``broadcast_mul``) ``* weight``."""
    if sample_weight is not None:
        if F is _nd:
            if not isinstance(sample_weight, NDArray):
                raise TypeError(f"sample_weight: expected an NDArray or None, got "
                                f"{type(sample_weight).__name__}")
            if not _broadcast_ok(loss.shape, sample_weight.shape):
                raise MXNetError(f"sample_weight: shape {sample_weight.shape} cannot be "
                                 f"broadcast to the elementwise loss of shape {loss.shape}")
        loss = F.broadcast_mul(loss, sample_weight)
    if weight is not None:
        if not _is_number(weight):
            raise TypeError(f"weight: expected a number, got {type(weight).__name__}")
        loss = loss * weight
    return loss


def _reshape_like(F, x, y, xname="label", yname="pred", owner="loss"):
    """``x`` reshaped to ``y``'s shape (they must have the same number of elements)."""
    if F is _nd:
        if x.shape == y.shape:
            return x
        if x.size != y.size:
            raise MXNetError(
                f"{owner}: {xname} has shape {x.shape} ({x.size} elements) but {yname} has "
                f"shape {y.shape} ({y.size} elements); {xname} must have as many elements "
                f"as {yname}")
        return x.reshape(y.shape)
    return F.reshape_like(x, y)


class Loss(HybridBlock):
    """Base class of losses (MXNet's ``gluon.loss.Loss``).

    Parameters
    ----------
    weight : float or None
        Global scalar weight multiplied into the loss.
    batch_axis : int, default 0
        The axis that represents the mini-batch; the loss is reduced over the others.
    """

    def __init__(self, weight, batch_axis, **kwargs):
        if weight is not None and not _is_number(weight):
            raise TypeError(f"weight: expected a number or None, got {type(weight).__name__}")
        if not isinstance(batch_axis, numbers.Integral) or isinstance(batch_axis, bool):
            raise TypeError(f"batch_axis: expected an int, got {type(batch_axis).__name__}")
        super().__init__(**kwargs)
        self._weight = weight
        self._batch_axis = int(batch_axis)

    def __repr__(self):
        return f"{type(self).__name__}(batch_axis={self._batch_axis}, w={self._weight})"

    def hybrid_forward(self, F, x, *args, **kwargs):
        """Override with the loss computation, written against ``F``."""
        raise NotImplementedError(f"{type(self).__name__} must implement hybrid_forward()")

    # --- helpers for subclasses --------------------------------------------------------------
    def _check(self, F, **arrays):
        """Every named input that is not None must be an NDArray (imperative mode)."""
        if F is not _nd:
            return
        for name, x in arrays.items():
            if x is not None and not isinstance(x, NDArray):
                raise TypeError(f"{type(self).__name__}: {name} must be an NDArray, got "
                                f"{type(x).__name__}")

    def _check_batch_axis(self, F, x):
        if F is _nd and not -x.ndim <= self._batch_axis < max(x.ndim, 1):
            raise MXNetError(f"{type(self).__name__}: batch_axis={self._batch_axis} is out of "
                             f"range for an input of shape {x.shape}")

    def _batch_mean(self, F, loss):
        """Mean over every axis except ``batch_axis``."""
        self._check_batch_axis(F, loss)
        return F.mean(loss, axis=self._batch_axis, exclude=True)

    def _batch_sum(self, F, loss):
        """Sum over every axis except ``batch_axis``."""
        self._check_batch_axis(F, loss)
        return F.sum(loss, axis=self._batch_axis, exclude=True)

    def _check_same_broadcast(self, F, label, pred, lname="label", pname="pred"):
        if F is _nd and not _broadcast_ok(label.shape, pred.shape):
            raise MXNetError(f"{type(self).__name__}: {lname} of shape {label.shape} does not "
                             f"match {pname} of shape {pred.shape}")


class L2Loss(Loss):
    r"""Half the squared error: ``L = 1/2 * (label - pred)^2``, averaged over non-batch axes.

    ``label`` and ``pred`` may have any shapes with the same number of elements. Note the
    factor 1/2 (MXNet's definition): ``weight`` multiplies ``1/2 * (label - pred)^2``.

    Parameters
    ----------
    weight : float or None, default 1.
        Global scalar weight (None means 1).
    batch_axis : int, default 0
        The axis that represents the mini-batch.

    Inputs: ``pred``, ``label`` (same size), optional ``sample_weight`` (broadcastable to
    ``pred``, e.g. ``(batch, 1)``). Output: shape ``(batch_size,)``.
    """

    def __init__(self, weight=1., batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        self._check(F, pred=pred, label=label)
        label = _reshape_like(F, label, pred, owner="L2Loss")
        loss = F.square(label - pred)
        w = 1. if self._weight is None else self._weight
        loss = _apply_weighting(F, loss, w / 2, sample_weight)
        return self._batch_mean(F, loss)


class L1Loss(Loss):
    r"""Absolute error ``L = |label - pred|``, averaged over non-batch axes.

    Parameters
    ----------
    weight : float or None
        Global scalar weight.
    batch_axis : int, default 0
        The axis that represents the mini-batch.

    Inputs: ``pred``, ``label`` (same size), optional ``sample_weight``. Output:
    ``(batch_size,)``.
    """

    def __init__(self, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        self._check(F, pred=pred, label=label)
        label = _reshape_like(F, label, pred, owner="L1Loss")
        loss = F.abs(label - pred)
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return self._batch_mean(F, loss)


class SigmoidBinaryCrossEntropyLoss(Loss):
    r"""Binary cross-entropy (alias ``SigmoidBCELoss``).

    With ``from_sigmoid=False`` (default) ``pred`` are logits and the numerically stable
    form ``max(x, 0) - x * z + log(1 + exp(-|x|))`` is used (with ``pos_weight``:
    ``x - x * z + (1 + (pos_weight - 1) * z) * (log(1 + exp(-|x|)) + max(-x, 0))``). With
    ``from_sigmoid=True`` ``pred`` are probabilities and
    ``-(log(p + 1e-12) * z * pos_weight + log(1 - p + 1e-12) * (1 - z))``.

    Parameters
    ----------
    from_sigmoid : bool, default False
        Whether ``pred`` already went through a sigmoid.
    weight : float or None
        Global scalar weight.
    batch_axis : int, default 0
        The axis that represents the mini-batch.

    Inputs: ``pred``, ``label`` (values in [0, 1], same size), optional ``sample_weight``
    and ``pos_weight`` (weight of positive examples, broadcastable to ``pred``, e.g.
    ``(1, num_classes)``). Output: ``(batch_size,)``, the mean over non-batch axes.
    """

    def __init__(self, from_sigmoid=False, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._from_sigmoid = from_sigmoid

    def hybrid_forward(self, F, pred, label, sample_weight=None, pos_weight=None):
        self._check(F, pred=pred, label=label, pos_weight=pos_weight)
        label = _reshape_like(F, label, pred, owner=type(self).__name__)
        if pos_weight is not None:
            self._check_same_broadcast(F, pos_weight, pred, "pos_weight")
        if not self._from_sigmoid:
            if pos_weight is None:
                # stable formula: max(x, 0) - x * z + log(1 + exp(-abs(x)))
                loss = F.relu(pred) - pred * label + \
                    F.Activation(-F.abs(pred), act_type="softrelu")
            else:
                # x - x * z + (1 + z * pos_weight - z) * (log(1 + exp(-abs(x))) + max(-x, 0))
                log_weight = 1 + F.broadcast_mul(pos_weight - 1, label)
                loss = pred - pred * label + log_weight * \
                    (F.Activation(-F.abs(pred), act_type="softrelu") + F.relu(-pred))
        else:
            eps = 1e-12
            if pos_weight is None:
                loss = -(F.log(pred + eps) * label + F.log(1. - pred + eps) * (1. - label))
            else:
                loss = -(F.broadcast_mul(F.log(pred + eps) * label, pos_weight)
                         + F.log(1. - pred + eps) * (1. - label))
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return self._batch_mean(F, loss)


SigmoidBCELoss = SigmoidBinaryCrossEntropyLoss


class SoftmaxCrossEntropyLoss(Loss):
    r"""Softmax cross-entropy (alias ``SoftmaxCELoss``).

    ``p = log_softmax(pred, axis)`` (skipped when ``from_logits``). With ``sparse_label``
    (default) ``label`` holds class indices, shaped like ``pred`` without ``axis`` (or with
    ``axis`` of size 1), and ``L = -p[label]`` (indices are clipped into range, as MXNet's
    ``pick``); otherwise ``label`` is a distribution shaped like ``pred`` and
    ``L = -sum(p * label, axis)``. The loss is then averaged over non-batch axes.

    Parameters
    ----------
    axis : int, default -1
        The class axis.
    sparse_label : bool, default True
        Whether ``label`` holds class indices rather than probabilities.
    from_logits : bool, default False
        Whether ``pred`` is already a log-probability (e.g. from ``log_softmax``).
    weight : float or None
        Global scalar weight.
    batch_axis : int, default 0
        The axis that represents the mini-batch.

    Inputs: ``pred``, ``label``, optional ``sample_weight`` (broadcast against the loss of
    shape ``pred`` with ``axis`` of size 1). Output: ``(batch_size,)``.
    """

    def __init__(self, axis=-1, sparse_label=True, from_logits=False, weight=None,
                 batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        if not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
            raise TypeError(f"axis: expected an int, got {type(axis).__name__}")
        self._axis = int(axis)
        self._sparse_label = sparse_label
        self._from_logits = from_logits

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        self._check(F, pred=pred, label=label)
        name = type(self).__name__
        if F is _nd:
            if not -pred.ndim <= self._axis < pred.ndim:
                raise MXNetError(f"{name}: axis={self._axis} is out of range for pred of "
                                 f"shape {pred.shape}")
            if self._sparse_label:
                ax = self._axis % pred.ndim
                without = pred.shape[:ax] + pred.shape[ax + 1:]
                kept = pred.shape[:ax] + (1,) + pred.shape[ax + 1:]
                if label.shape not in (without, kept):
                    raise MXNetError(
                        f"{name}: with sparse_label=True, label must hold one class index per "
                        f"prediction: shape {without} (pred's shape {pred.shape} without axis "
                        f"{self._axis}), got {label.shape}")
        if not self._from_logits:
            pred = F.log_softmax(pred, axis=self._axis)
        if self._sparse_label:
            loss = -F.pick(pred, label, axis=self._axis, keepdims=True)
        else:
            label = _reshape_like(F, label, pred, owner=name)
            loss = -F.sum(pred * label, axis=self._axis, keepdims=True)
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return self._batch_mean(F, loss)


SoftmaxCELoss = SoftmaxCrossEntropyLoss


class KLDivLoss(Loss):
    r"""Kullback-Leibler divergence ``L = label * (log(label + 1e-12) - pred)``.

    With ``from_logits=True`` (default) ``pred`` is a log-probability; otherwise
    ``log_softmax(pred, axis)`` is applied first. As in MXNet 1.9.1 the result is *summed*
    over the non-batch axes (not averaged).

    Parameters
    ----------
    from_logits : bool, default True
        Whether ``pred`` is already a log-probability.
    axis : int, default -1
        The softmax axis (used only when ``from_logits`` is False).
    weight : float or None
        Global scalar weight.
    batch_axis : int, default 0
        The axis that represents the mini-batch.

    Inputs: ``pred``, ``label`` (broadcastable to ``pred``), optional ``sample_weight``.
    Output: ``(batch_size,)``.
    """

    def __init__(self, from_logits=True, axis=-1, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._from_logits = from_logits
        self._axis = axis

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        self._check(F, pred=pred, label=label)
        self._check_same_broadcast(F, label, pred)
        if not self._from_logits:
            pred = F.log_softmax(pred, axis=self._axis)
        loss = label * (F.log(label + 1e-12) - pred)
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return self._batch_sum(F, loss)


class CTCLoss(Loss):
    r"""Connectionist Temporal Classification loss (MXNet's ``gluon.loss.CTCLoss``).

    Parameters
    ----------
    layout : str, default 'NTC'
        Layout of ``pred``: 'NTC' or 'TNC' (batch, sequence length, alphabet size).
    label_layout : str, default 'NT'
        Layout of ``label``: 'NT' or 'TN'.
    weight : float or None
        Global scalar weight.

    Inputs:
        - **pred**: unnormalised scores (softmax is applied inside), shape per ``layout``.
          The *last* channel, ``alphabet_size - 1``, is the blank label, so the alphabet
          size is one plus the number of symbols.
        - **label**: zero-based symbol indices ``0 .. alphabet_size - 2``, sequences padded
          with ``-1`` (e.g. ``[[1, 0, -1, -1], [2, 1, 1, -1]]``), shape per ``label_layout``.
        - **pred_lengths**: optional ``(batch_size,)`` valid lengths of each ``pred``
          sequence.
        - **label_lengths**: optional ``(batch_size,)`` label lengths (then padding values
          are not needed).
        - **sample_weight**: optional, broadcast against the ``(batch_size,)`` loss.

    Output: ``(batch_size,)``, the negative log-likelihood of each labelling (0 for a
    labelling that cannot fit in its sequence, as in MXNet).
    """

    def __init__(self, layout="NTC", label_layout="NT", weight=None, **kwargs):
        if layout not in ("NTC", "TNC"):
            raise ValueError(f"layout: only 'NTC' and 'TNC' layouts for pred are supported. "
                             f"Got: {layout!r}")
        if label_layout not in ("NT", "TN"):
            raise ValueError(f"label_layout: only 'NT' and 'TN' layouts for label are "
                             f"supported. Got: {label_layout!r}")
        self._layout = layout
        self._label_layout = label_layout
        batch_axis = label_layout.find("N")
        super().__init__(weight, batch_axis, **kwargs)

    def hybrid_forward(self, F, pred, label, pred_lengths=None, label_lengths=None,
                       sample_weight=None):
        self._check(F, pred=pred, label=label, pred_lengths=pred_lengths,
                    label_lengths=label_lengths)
        if F is _nd:
            if pred.ndim != 3:
                raise MXNetError(f"CTCLoss: pred must have 3 dimensions (layout "
                                 f"{self._layout!r}), got shape {pred.shape}")
            if label.ndim != 2:
                raise MXNetError(f"CTCLoss: label must have 2 dimensions (label_layout "
                                 f"{self._label_layout!r}), got shape {label.shape}")
            n = pred.shape[self._layout.find("N")]
            if label.shape[self._batch_axis] != n:
                raise MXNetError(
                    f"CTCLoss: label of shape {label.shape} (label_layout "
                    f"{self._label_layout!r}) has batch size {label.shape[self._batch_axis]}, "
                    f"pred of shape {pred.shape} (layout {self._layout!r}) has {n}")
            for nm, x in (("pred_lengths", pred_lengths), ("label_lengths", label_lengths)):
                if x is not None and x.shape != (n,):
                    raise MXNetError(f"CTCLoss: {nm} must have shape ({n},) (one length per "
                                     f"sequence), got {x.shape}")
        if self._layout == "NTC":
            pred = F.swapaxes(pred, 0, 1)
        if self._batch_axis == 1:
            label = F.swapaxes(label, 0, 1)
        loss = F.CTCLoss(pred, label, pred_lengths, label_lengths,
                         use_data_lengths=pred_lengths is not None,
                         use_label_lengths=label_lengths is not None,
                         blank_label="last")
        return _apply_weighting(F, loss, self._weight, sample_weight)


class HuberLoss(Loss):
    r"""Smoothed L1 loss: ``(label - pred)^2 / (2 rho)`` where ``|label - pred| <= rho``,
    ``|label - pred| - rho / 2`` elsewhere; averaged over non-batch axes.

    Parameters
    ----------
    rho : float, default 1
        Threshold between the quadratic and the linear part (must be positive).
    weight : float or None
        Global scalar weight.
    batch_axis : int, default 0
        The axis that represents the mini-batch.

    Inputs: ``pred``, ``label`` (same size), optional ``sample_weight``. Output:
    ``(batch_size,)``.
    """

    def __init__(self, rho=1, weight=None, batch_axis=0, **kwargs):
        if not _is_number(rho) or not rho > 0:
            raise ValueError(f"rho: expected a positive number, got {rho!r}")
        super().__init__(weight, batch_axis, **kwargs)
        self._rho = rho

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        self._check(F, pred=pred, label=label)
        label = _reshape_like(F, label, pred, owner="HuberLoss")
        loss = F.abs(label - pred)
        loss = F.where(loss > self._rho, loss - 0.5 * self._rho,
                       (0.5 / self._rho) * F.square(loss))
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return self._batch_mean(F, loss)


class HingeLoss(Loss):
    r"""Hinge loss of SVMs: ``L = max(0, margin - pred * label)``, labels -1 or 1;
    averaged over non-batch axes.

    Parameters
    ----------
    margin : float, default 1
        The margin.
    weight : float or None
        Global scalar weight.
    batch_axis : int, default 0
        The axis that represents the mini-batch.

    Inputs: ``pred``, ``label`` (same size), optional ``sample_weight``. Output:
    ``(batch_size,)``.
    """

    def __init__(self, margin=1, weight=None, batch_axis=0, **kwargs):
        if not _is_number(margin):
            raise TypeError(f"margin: expected a number, got {type(margin).__name__}")
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        self._check(F, pred=pred, label=label)
        label = _reshape_like(F, label, pred, owner="HingeLoss")
        loss = F.relu(self._margin - pred * label)
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return self._batch_mean(F, loss)


class SquaredHingeLoss(Loss):
    r"""Squared hinge loss: ``L = max(0, margin - pred * label)^2``, labels -1 or 1;
    averaged over non-batch axes.

    Parameters
    ----------
    margin : float, default 1
        The margin.
    weight : float or None
        Global scalar weight.
    batch_axis : int, default 0
        The axis that represents the mini-batch.

    Inputs: ``pred``, ``label`` (same size), optional ``sample_weight``. Output:
    ``(batch_size,)``.
    """

    def __init__(self, margin=1, weight=None, batch_axis=0, **kwargs):
        if not _is_number(margin):
            raise TypeError(f"margin: expected a number, got {type(margin).__name__}")
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        self._check(F, pred=pred, label=label)
        label = _reshape_like(F, label, pred, owner="SquaredHingeLoss")
        loss = F.square(F.relu(self._margin - pred * label))
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return self._batch_mean(F, loss)


class LogisticLoss(Loss):
    r"""Logistic loss ``L = log(1 + exp(-pred * label))`` (stable form), averaged over
    non-batch axes.

    Parameters
    ----------
    weight : float or None
        Global scalar weight.
    batch_axis : int, default 0
        The axis that represents the mini-batch.
    label_format : str, default 'signed'
        'signed': labels are -1 or 1; 'binary': labels are 0 or 1.

    Inputs: ``pred``, ``label`` (same size), optional ``sample_weight``. Output:
    ``(batch_size,)``.
    """

    def __init__(self, weight=None, batch_axis=0, label_format="signed", **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._label_format = label_format
        if self._label_format not in ["signed", "binary"]:
            raise ValueError(f"label_format can only be signed or binary, recieved "
                             f"{label_format}.")

    def hybrid_forward(self, F, pred, label, sample_weight=None):
        self._check(F, pred=pred, label=label)
        label = _reshape_like(F, label, pred, owner="LogisticLoss")
        if self._label_format == "signed":
            label = (label + 1.0) / 2.0  # to 0 or 1
        loss = F.relu(pred) - pred * label + \
            F.Activation(-F.abs(pred), act_type="softrelu")
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return self._batch_mean(F, loss)


class TripletLoss(Loss):
    r"""Triplet loss: ``L = max(sum((positive - pred)^2) - sum((negative - pred)^2) + margin,
    0)``, the sums running over the non-batch axes.

    Parameters
    ----------
    margin : float, default 1
        Margin of separation between the positive and the negative pair.
    weight : float or None
        Global scalar weight.
    batch_axis : int, default 0
        The axis that represents the mini-batch.

    Inputs: ``pred``, ``positive``, ``negative`` (same size as ``pred``), and (as in MXNet
    2.x) an optional ``sample_weight`` multiplied into the ``(batch_size,)`` loss.
    Output: ``(batch_size,)``.
    """

    def __init__(self, margin=1, weight=None, batch_axis=0, **kwargs):
        if not _is_number(margin):
            raise TypeError(f"margin: expected a number, got {type(margin).__name__}")
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def hybrid_forward(self, F, pred, positive, negative, sample_weight=None):
        self._check(F, pred=pred, positive=positive, negative=negative)
        positive = _reshape_like(F, positive, pred, "positive", owner="TripletLoss")
        negative = _reshape_like(F, negative, pred, "negative", owner="TripletLoss")
        loss = self._batch_sum(F, F.square(positive - pred) - F.square(negative - pred))
        loss = F.relu(loss + self._margin)
        return _apply_weighting(F, loss, self._weight, sample_weight)


class PoissonNLLLoss(Loss):
    r"""Negative log-likelihood of a Poisson-distributed ``target``, averaged over *all*
    elements (the output has shape ``(1,)``, as in MXNet).

    ``from_logits=True`` (default): ``pred`` is ``log(lambda)`` and
    ``L = exp(pred) - target * pred``; otherwise ``L = pred - target * log(pred + epsilon)``.
    ``compute_full`` adds Stirling's approximation of ``log(target!)``,
    ``target * log(target) - target + 0.5 * log(2 * pi * target)``, where ``target > 1``
    (MXNet 1.9.1 computes it everywhere and multiplies by ``target > 1``, which turns the
    loss into NaN for ``target == 0``; here such elements add 0, as intended).

    Parameters
    ----------
    weight : float or None
        Global scalar weight.
    from_logits : bool, default True
        Whether ``pred`` is the log of the rate.
    batch_axis : int, default 0
        The axis that represents the mini-batch.
    compute_full : bool, default False
        Whether to add the Stirling term.

    Inputs: ``pred``, ``target`` (same size), optional ``sample_weight``, and ``epsilon``
    (default 1e-08). Output: shape ``(1,)``.
    """

    def __init__(self, weight=None, from_logits=True, batch_axis=0, compute_full=False,
                 **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self._from_logits = from_logits
        self._compute_full = compute_full

    def hybrid_forward(self, F, pred, target, sample_weight=None, epsilon=1e-08):
        self._check(F, pred=pred, target=target)
        target = _reshape_like(F, target, pred, "target", owner="PoissonNLLLoss")
        if self._from_logits:
            loss = F.exp(pred) - target * pred
        else:
            loss = pred - target * F.log(pred + epsilon)
        if self._compute_full:
            t = F.maximum(target, 1.0)  # the factor is 0 where target <= 1
            stirling_factor = t * F.log(t) - t + 0.5 * F.log(2 * t * math.pi)
            loss = loss + stirling_factor * (target > 1)
        loss = _apply_weighting(F, loss, self._weight, sample_weight)
        return F.mean(loss)


class CosineEmbeddingLoss(Loss):
    r"""Cosine embedding loss: for each pair of rows, ``1 - cos(input1, input2)`` if the
    label is 1, ``max(0, cos(input1, input2) - margin)`` if it is -1 (0 for any other
    label value).

    The cosine similarity is taken along the last axis, with the product of the norms
    clamped below at 1e-12. As in MXNet 1.9.1 the output has shape ``(batch_size, 1)``.

    Parameters
    ----------
    weight : float or None
        Global scalar weight.
    batch_axis : int, default 0
        The axis that represents the mini-batch.
    margin : float, default 0
        Margin of separation for dissimilar pairs.

    Inputs: ``input1``, ``input2`` (same size; ``input1`` is reshaped like ``input2``),
    ``label`` (one value, 1 or -1, per row), optional ``sample_weight``. Output:
    ``(batch_size, 1)``.
    """

    def __init__(self, weight=None, batch_axis=0, margin=0, **kwargs):
        if not _is_number(margin):
            raise TypeError(f"margin: expected a number, got {type(margin).__name__}")
        super().__init__(weight, batch_axis, **kwargs)
        self._margin = margin

    def hybrid_forward(self, F, input1, input2, label, sample_weight=None):
        self._check(F, input1=input1, input2=input2, label=label)
        input1 = _reshape_like(F, input1, input2, "input1", "input2",
                               owner="CosineEmbeddingLoss")
        if F is _nd:
            rows = input2.size // input2.shape[-1] if input2.ndim and input2.shape[-1] else 0
            if label.size != rows:
                raise MXNetError(f"CosineEmbeddingLoss: label must hold one value per row of "
                                 f"input2 ({rows} rows for shape {input2.shape}), got shape "
                                 f"{label.shape}")
        label = label.reshape((-1, 1))
        cos_sim = self._cosine_similarity(F, input1, input2)
        y_1 = label == 1
        y_minus_1 = label == -1
        cos_sim_a = (1 - cos_sim) * y_1
        # max(0, .) as MXNet's broadcast_maximum against a zero array
        cos_sim_b = F.relu(y_minus_1 * (cos_sim - self._margin))
        loss = cos_sim_a + cos_sim_b
        return _apply_weighting(F, loss, self._weight, sample_weight)

    def _cosine_similarity(self, F, x, y, axis=-1):
        """Cosine similarity of ``x`` and ``y`` along ``axis``, as a column."""
        x_norm = F.norm(x, axis=axis).reshape((-1, 1))
        y_norm = F.norm(y, axis=axis).reshape((-1, 1))
        x_dot_y = F.sum(x * y, axis=axis).reshape((-1, 1))
        return x_dot_y / F.maximum(x_norm * y_norm, 1e-12)


class SDMLLoss(Loss):
    r"""Batchwise Smoothed Deep Metric Learning loss (Bonadiman et al., 2019).

    ``x1[i]`` and ``x2[i]`` are a positive pair; every other row of the batch serves as a
    negative. The loss is the KL divergence (summed over the batch row, see
    :class:`KLDivLoss`) between ``log_softmax(-squared_distances, axis=1)`` and the
    identity matrix smoothed to ``1 - smoothing_parameter`` on the diagonal and
    ``smoothing_parameter / (batch_size - 1)`` elsewhere.

    Parameters
    ----------
    smoothing_parameter : float, default 0.3
        Probability mass spread over the negatives (must be below 1).
    weight : float or None, default 1.
        Global scalar weight. (MXNet 1.9.1 accepts and ignores it; here it multiplies the
        loss, so the default 1 gives MXNet's numbers.)
    batch_axis : int, default 0
        The axis that represents the mini-batch.

    Inputs: ``x1``, ``x2`` of shape ``(batch_size, vector_dim)``, batch_size >= 2. Output:
    ``(batch_size,)``.
    """

    def __init__(self, smoothing_parameter=0.3, weight=1., batch_axis=0, **kwargs):
        if not _is_number(smoothing_parameter) or not 0 <= smoothing_parameter < 1:
            raise ValueError(f"smoothing_parameter: expected a number in [0, 1), got "
                             f"{smoothing_parameter!r}")
        super().__init__(weight, batch_axis, **kwargs)
        self.kl_loss = KLDivLoss(from_logits=True)
        self.smoothing_parameter = smoothing_parameter

    def _compute_distances(self, x1, x2):
        """Squared euclidean distance between every row of ``x1`` and every row of ``x2``."""
        batch_size, dim = x1.shape
        x1_ = x1.expand_dims(1).broadcast_to((batch_size, batch_size, dim))
        x2_ = x2.expand_dims(0).broadcast_to((batch_size, batch_size, dim))
        return ((x1_ - x2_) ** 2).sum(axis=2)

    def _compute_labels(self, F, batch_size, dtype):
        """The smoothed identity matrix of the targets."""
        gold = F.eye(batch_size, dtype=dtype)
        return gold * (1 - self.smoothing_parameter) + \
            (1 - gold) * self.smoothing_parameter / (batch_size - 1)

    def _loss(self, F, x1, x2):
        batch_size = x1.shape[0]
        labels = self._compute_labels(F, batch_size, x1.dtype)
        distances = self._compute_distances(x1, x2)
        log_probabilities = F.log_softmax(-distances, axis=1)
        return self.kl_loss(log_probabilities, labels.as_in_context(distances.context))

    def hybrid_forward(self, F, x1, x2):
        self._check(F, x1=x1, x2=x2)
        if F is _nd:
            if x1.ndim != 2 or x1.shape != x2.shape:
                raise MXNetError(f"SDMLLoss: x1 and x2 must be (batch_size, vector_dim) "
                                 f"arrays of one shape, got {x1.shape} and {x2.shape}")
            if x1.shape[0] < 2:
                raise MXNetError(f"SDMLLoss: needs a batch of at least 2 pairs, got "
                                 f"{x1.shape[0]}")
        return _apply_weighting(F, self._loss(F, x1, x2), self._weight, None)
