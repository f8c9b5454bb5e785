"""Online evaluation metrics: MXNet 1.9.1's ``mx.metric``.

A metric accumulates over ``update(labels, preds)`` calls and reports with ``get()``.
``labels`` and ``preds`` are lists of arrays (one per output), or single arrays; arrays
may be NDArrays (on any device), numpy arrays or nested lists. Every metric keeps a local
and a global accumulator (``get``/``reset_local`` vs ``get_global``/``reset``), as in
MXNet 1.9.1. Values are computed as MXNet computes them (on host copies, with the same
dtypes), so the numbers agree with MXNet's.

``create(metric, *args, **kwargs)`` builds a metric from a registered name (``'acc'``,
``'ce'``, ``'top_k_accuracy'``, ... case-insensitive), an instance, a list (a
:class:`CompositeEvalMetric`), a config dict or JSON string, or a function
``feval(label, pred)`` (a :class:`CustomMetric`). ``register``/``alias`` add names.
"""
from __future__ import annotations

import copy
import json
import math
import numbers
import warnings
from collections import OrderedDict

import numpy

from .ndarray import NDArray

__all__ = ["check_label_shapes", "EvalMetric", "register", "alias", "create",
           "CompositeEvalMetric", "Accuracy", "TopKAccuracy", "F1", "MCC", "Perplexity", "MAE",
           "MSE", "RMSE", "CrossEntropy", "NegativeLogLikelihood", "PearsonCorrelation", "PCC",
           "Loss", "Torch", "Caffe", "CustomMetric", "np", "reduce_across_workers"]

_numeric_types = (numbers.Number, numpy.generic)


def _is_array(x):
    return isinstance(x, (NDArray, numpy.ndarray))


def _wrap(x):
    """A single array becomes a one-element list; lists and tuples are kept."""
    if _is_array(x):
        return [x]
    if isinstance(x, (list, tuple)):
        return list(x)
    raise TypeError(f"expected an NDArray, a numpy array or a list of them, got "
                    f"{type(x).__name__}")


def _host(x, what):
    """A numpy copy (or view) of ``x``: an NDArray, numpy array, number or nested list."""
    if isinstance(x, NDArray):
        return x.asnumpy()
    if isinstance(x, numpy.ndarray):
        return x
    if isinstance(x, (list, tuple)) or isinstance(x, _numeric_types):
        try:
            return numpy.asarray(x, dtype=numpy.float32)
        except (TypeError, ValueError):
            pass
    raise TypeError(f"{what}: expected an NDArray or a numpy array, got {type(x).__name__}")


def _as_python(v):
    """numpy float scalars as Python floats: accumulating them then runs in float64, as it
    did under the numpy 1.x MXNet 1.9.1 used (NumPy 2 would keep float32)."""
    if isinstance(v, numpy.ndarray) and v.ndim == 0:
        v = v[()]
    if isinstance(v, numpy.floating):
        return float(v)
    return v


def check_label_shapes(labels, preds, wrap=False, shape=False):
    """Check that ``labels`` and ``preds`` agree: in length (default) or, with
    ``shape=True``, in shape. With ``wrap=True`` single arrays are wrapped in lists, and
    the (possibly wrapped) pair is returned. Raises ``ValueError`` on a mismatch."""
    if wrap:
        labels = [x if _is_array(x) else _host(x, "labels") for x in _wrap(labels)]
        preds = [x if _is_array(x) else _host(x, "preds") for x in _wrap(preds)]
    if not shape:
        label_shape, pred_shape = len(labels), len(preds)
    else:
        label_shape, pred_shape = tuple(labels.shape), tuple(preds.shape)
    if label_shape != pred_shape:
        raise ValueError(f"Shape of labels {label_shape} does not match shape of "
                         f"predictions {pred_shape}")
    return labels, preds


class EvalMetric:
    """Base class of all evaluation metrics (MXNet's ``mx.metric.EvalMetric``).

    Parameters
    ----------
    name : str
        Name of this metric instance for display.
    output_names : list of str, or None
        Names of the predictions ``update_dict`` uses (default: all, in order).
    label_names : list of str, or None
        Names of the labels ``update_dict`` uses (default: all, in order).

    Subclasses implement ``update(labels, preds)`` by adding to ``sum_metric`` /
    ``num_inst`` (and their ``global_`` twins); ``get()`` returns
    ``(name, sum_metric / num_inst)`` (NaN before any update).
    """

    def __init__(self, name, output_names=None, label_names=None, **kwargs):
        self.name = str(name)
        self.output_names = output_names
        self.label_names = label_names
        self._has_global_stats = kwargs.pop("has_global_stats", False)
        self._kwargs = kwargs
        self.reset()

    def __str__(self):
        return f"EvalMetric: {dict(self.get_name_value())}"

    def get_config(self):
        """The configuration (a dict ``create(**config)`` rebuilds the metric from)."""
        config = self._kwargs.copy()
        config.update({"metric": type(self).__name__, "name": self.name,
                       "output_names": self.output_names, "label_names": self.label_names})
        return config

    def update_dict(self, label, pred):
        """Update with dicts name -> array, picking ``label_names`` / ``output_names``."""
        if self.output_names is not None:
            missing = [n for n in self.output_names if n not in pred]
            if missing:
                raise KeyError(f"update_dict: pred has no output named {missing[0]!r} "
                               f"(outputs: {list(pred)})")
            pred = [pred[name] for name in self.output_names]
        else:
            pred = list(pred.values())
        if self.label_names is not None:
            missing = [n for n in self.label_names if n not in label]
            if missing:
                raise KeyError(f"update_dict: label has no label named {missing[0]!r} "
                               f"(labels: {list(label)})")
            label = [label[name] for name in self.label_names]
        else:
            label = list(label.values())
        self.update(label, pred)

    def update(self, labels, preds):
        """Update the statistics with a batch: ``labels`` and ``preds`` (lists of arrays or
        single arrays)."""
        raise NotImplementedError(f"{type(self).__name__} must implement update()")

    def reset(self):
        """Reset the local and global statistics."""
        self.num_inst = 0
        self.sum_metric = 0.0
        self.global_num_inst = 0
        self.global_sum_metric = 0.0

    def reset_local(self):
        """Reset the local statistics only (the global ones keep accumulating)."""
        self.num_inst = 0
        self.sum_metric = 0.0

    def get(self):
        """``(name, value)`` of the local statistics (value NaN before any update)."""
        if self.num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, self.sum_metric / self.num_inst)

    def get_global(self):
        """``(name, value)`` of the global statistics (since the last ``reset``)."""
        if self._has_global_stats:
            if self.global_num_inst == 0:
                return (self.name, float("nan"))
            return (self.name, self.global_sum_metric / self.global_num_inst)
        return self.get()

    def get_name_value(self):
        """``get()`` as a list of ``(name, value)`` pairs."""
        name, value = self.get()
        if not isinstance(name, list):
            name = [name]
        if not isinstance(value, list):
            value = [value]
        return list(zip(name, value))

    def get_global_name_value(self):
        """``get_global()`` as a list of ``(name, value)`` pairs."""
        if self._has_global_stats:
            name, value = self.get_global()
            if not isinstance(name, list):
                name = [name]
            if not isinstance(value, list):
                value = [value]
            return list(zip(name, value))
        return self.get_name_value()

    def _add(self, value, count):
        self.sum_metric += value
        self.global_sum_metric += value
        self.num_inst += count
        self.global_num_inst += count


# --- registry ------------------------------------------------------------------------------
_REGISTRY: dict = {}


def register(klass, name=None):
    """Register an EvalMetric subclass for ``create`` under ``name`` (default: its class
    name), case-insensitive. Usable as a decorator."""
    if not (isinstance(klass, type) and issubclass(klass, EvalMetric)):
        raise TypeError(f"register: can only register subclasses of EvalMetric, got "
                        f"{klass!r}")
    name = (klass.__name__ if name is None else name).lower()
    if name in _REGISTRY and _REGISTRY[name] is not klass:
        warnings.warn(f"New metric {klass.__module__}.{klass.__name__} registered with name "
                      f"{name} is overriding existing metric "
                      f"{_REGISTRY[name].__module__}.{_REGISTRY[name].__name__}",
                      UserWarning, stacklevel=2)
    _REGISTRY[name] = klass
    return klass


def alias(*aliases):
    """Decorator registering an EvalMetric subclass under extra names:
    ``@alias('acc')``."""

    def reg(klass):
        for name in aliases:
            register(klass, name)
        return klass

    return reg


def _create(*args, **kwargs):
    if args:
        name, args = args[0], args[1:]
    elif "metric" in kwargs:
        name = kwargs.pop("metric")
    else:
        raise TypeError("create: the metric (a name, an instance, a list or a function) is "
                        "missing")
    if isinstance(name, EvalMetric):
        if args or kwargs:
            raise ValueError("metric is already an instance. Additional arguments are invalid")
        return name
    if isinstance(name, dict):
        return _create(**name)
    if not isinstance(name, str):
        raise TypeError(f"metric: expected a name (str), an EvalMetric, a list or a "
                        f"function, got {type(name).__name__}")
    if name.startswith("["):
        if args or kwargs:
            raise ValueError("metric: a JSON configuration takes no further arguments")
        name, kwargs = json.loads(name)
        return _create(name, **kwargs)
    if name.startswith("{"):
        if args or kwargs:
            raise ValueError("metric: a JSON configuration takes no further arguments")
        return _create(**json.loads(name))
    key = name.lower()
    if key not in _REGISTRY:
        raise ValueError(f"metric: {name!r} is not registered. Registered metrics: "
                         f"{', '.join(sorted(_REGISTRY))}. Register new ones with "
                         "mx.metric.register first")
    return _REGISTRY[key](*args, **kwargs)


def create(metric, *args, **kwargs):
    """Create a metric from a registered name (with constructor arguments), an EvalMetric
    instance (returned as is), a list of those (a CompositeEvalMetric), a config dict or
    JSON string, or a function ``feval(label, pred)`` (a CustomMetric).

    >>> mx.metric.create('acc')
    >>> mx.metric.create('top_k_accuracy', top_k=5)
    >>> mx.metric.create([mx.metric.Accuracy(), 'rmse', custom_fn])
    """
    if isinstance(metric, type) and issubclass(metric, EvalMetric):
        return metric(*args, **kwargs)
    if callable(metric) and not isinstance(metric, (type, EvalMetric)):
        return CustomMetric(metric, *args, **kwargs)
    if isinstance(metric, list):
        composite_metric = CompositeEvalMetric()
        for child_metric in metric:
            composite_metric.add(create(child_metric, *args, **kwargs))
        return composite_metric
    return _create(metric, *args, **kwargs)


@register
@alias("composite")
class CompositeEvalMetric(EvalMetric):
    """Several metrics updated together (``create`` with a list builds one).

    Parameters
    ----------
    metrics : list of EvalMetric (or names), optional
        The child metrics.
    name : str, default 'composite'
    output_names, label_names : list of str, or None
        As for :class:`EvalMetric`.

    ``get()`` returns ``([names...], [values...])``.
    """

    def __init__(self, metrics=None, name="composite", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        if metrics is None:
            metrics = []
        self.metrics = [create(i) for i in metrics]

    def add(self, metric):
        """Add a child metric (an instance, or anything ``create`` accepts)."""
        self.metrics.append(create(metric))

    def get_metric(self, index):
        """The child metric at ``index``."""
        try:
            return self.metrics[index]
        except IndexError:
            raise ValueError(f"Metric index {index} is out of range 0 and "
                             f"{len(self.metrics)}") from None

    def update_dict(self, labels, preds):  # pylint: disable=arguments-differ
        if self.label_names is not None:
            labels = OrderedDict([i for i in labels.items() if i[0] in self.label_names])
        if self.output_names is not None:
            preds = OrderedDict([i for i in preds.items() if i[0] in self.output_names])
        for metric in self.metrics:
            metric.update_dict(labels, preds)

    def update(self, labels, preds):
        """Update every child metric with the same batch."""
        for metric in self.metrics:
            metric.update(labels, preds)

    def reset(self):
        """Reset every child metric."""
        for metric in getattr(self, "metrics", ()):
            metric.reset()

    def reset_local(self):
        """Reset the local statistics of every child metric."""
        for metric in getattr(self, "metrics", ()):
            metric.reset_local()

    def _collect(self, getter):
        names, values = [], []
        for metric in self.metrics:
            name, value = getter(metric)
            if isinstance(name, str):
                name = [name]
            if isinstance(value, _numeric_types):
                value = [value]
            names.extend(name)
            values.extend(value)
        return (names, values)

    def get(self):
        """``([names], [values])`` of the children's local statistics."""
        return self._collect(lambda m: m.get())

    def get_global(self):
        """``([names], [values])`` of the children's global statistics."""
        return self._collect(lambda m: m.get_global())

    def get_config(self):
        config = super().get_config()
        config.update({"metrics": [i.get_config() for i in self.metrics]})
        return config


# --- classification ------------------------------------------------------------------------
@register
@alias("acc")
class Accuracy(EvalMetric):
    """Classification accuracy: the fraction of samples whose predicted class equals the
    label.

    Parameters
    ----------
    axis : int, default 1
        The class axis of the predictions; predictions shaped differently from the labels
        are reduced with ``argmax`` along it, predictions shaped like the labels are class
        indices already.
    name : str, default 'accuracy'
    output_names, label_names : list of str, or None
    """

    def __init__(self, axis=1, name="accuracy", output_names=None, label_names=None):
        super().__init__(name, axis=axis, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.axis = axis

    def update(self, labels, preds):
        """Add a batch: labels of class indices, predictions of scores or indices."""
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred_label in zip(labels, preds):
            if tuple(pred_label.shape) != tuple(label.shape):
                nd_ = len(pred_label.shape)
                if not -nd_ <= self.axis < nd_:
                    raise ValueError(f"Accuracy: axis={self.axis} is out of range for "
                                     f"predictions of shape {tuple(pred_label.shape)} "
                                     f"(labels have shape {tuple(label.shape)})")
                if isinstance(pred_label, NDArray):
                    from . import ndarray as _nd
                    pred_label = _nd.argmax(pred_label, axis=self.axis)
                else:
                    pred_label = numpy.argmax(_host(pred_label, "preds"), axis=self.axis)
            pred_label = _host(pred_label, "preds").astype("int32").ravel()
            label = _host(label, "labels").astype("int32").ravel()
            check_label_shapes(label, pred_label)
            num_correct = int((pred_label == label).sum())
            self._add(num_correct, len(pred_label))


@register
@alias("top_k_accuracy", "top_k_acc")
class TopKAccuracy(EvalMetric):
    """Top-k accuracy: a sample counts as correct when its label is among the ``top_k``
    highest-scoring classes.

    Parameters
    ----------
    top_k : int, default 1
        Must be greater than 1 (use :class:`Accuracy` otherwise). The metric's name gets
        ``_<top_k>`` appended (``'top_k_accuracy_5'``).
    name : str, default 'top_k_accuracy'
    output_names, label_names : list of str, or None
    """

    def __init__(self, top_k=1, name="top_k_accuracy", output_names=None, label_names=None):
        super().__init__(name, top_k=top_k, output_names=output_names,
                         label_names=label_names, has_global_stats=True)
        self.top_k = top_k
        if not isinstance(top_k, numbers.Integral) or self.top_k <= 1:
            raise ValueError(f"Please use Accuracy if top_k is no more than 1 (top_k: got "
                             f"{top_k!r})")
        self.name += f"_{self.top_k}"

    def update(self, labels, preds):
        """Add a batch: labels of class indices, predictions of scores (batch, classes)."""
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            pred = _host(pred, "preds").astype("float32")
            if pred.ndim > 2:
                raise ValueError(f"TopKAccuracy: predictions should be no more than 2 dims, "
                                 f"got shape {pred.shape}")
            label = _host(label, "labels").astype("int32")
            kth = min(self.top_k, pred.shape[-1]) if pred.size else 0
            pred_label = numpy.argpartition(pred, -kth) if kth else pred.astype("int64")
            check_label_shapes(label, pred_label)
            num_samples = pred_label.shape[0]
            if pred_label.ndim == 1:
                num_correct = int((pred_label.ravel() == label.ravel()).sum())
            else:
                num_classes = pred_label.shape[1]
                top_k = min(num_classes, self.top_k)
                num_correct = 0
                for j in range(top_k):
                    num_correct += int((pred_label[:, num_classes - 1 - j].ravel()
                                        == label.ravel()).sum())
            self._add(num_correct, num_samples)


class _BinaryClassificationMetrics:
    """True/false positive/negative counts (local and global) of a binary classifier,
    and the precision, recall, F1 and MCC they give."""

    def __init__(self, owner):
        self._owner = owner
        self.reset_stats()

    def update_binary_stats(self, label, pred):
        """Add a batch: ``pred`` of shape (batch, 2) scores, ``label`` of 0/1 values."""
        pred = _host(pred, "preds")
        label = _host(label, "labels").astype("int32")
        if pred.ndim != 2:
            raise ValueError(f"{self._owner}: predictions must have shape (batch_size, 2), "
                             f"got {pred.shape}")
        pred_label = numpy.argmax(pred, axis=1)
        check_label_shapes(label, pred)
        if label.size != pred_label.size:
            raise ValueError(f"{self._owner}: labels of shape {label.shape} do not match "
                             f"predictions of shape {pred.shape}")
        label = label.ravel()
        if len(numpy.unique(label)) > 2:
            raise ValueError(f"{self._owner} currently only supports binary classification.")
        pred_true = (pred_label == 1)
        pred_false = ~pred_true
        label_true = (label == 1)
        label_false = ~label_true
        true_pos = int((pred_true & label_true).sum())
        false_pos = int((pred_true & label_false).sum())
        false_neg = int((pred_false & label_true).sum())
        true_neg = int((pred_false & label_false).sum())
        self.true_positives += true_pos
        self.global_true_positives += true_pos
        self.false_positives += false_pos
        self.global_false_positives += false_pos
        self.false_negatives += false_neg
        self.global_false_negatives += false_neg
        self.true_negatives += true_neg
        self.global_true_negatives += true_neg

    @staticmethod
    def _ratio(a, b):
        return float(a) / (a + b) if a + b > 0 else 0.

    @property
    def precision(self):
        return self._ratio(self.true_positives, self.false_positives)

    @property
    def global_precision(self):
        return self._ratio(self.global_true_positives, self.global_false_positives)

    @property
    def recall(self):
        return self._ratio(self.true_positives, self.false_negatives)

    @property
    def global_recall(self):
        return self._ratio(self.global_true_positives, self.global_false_negatives)

    @staticmethod
    def _f(p, r):
        return 2 * p * r / (p + r) if p + r > 0 else 0.

    @property
    def fscore(self):
        return self._f(self.precision, self.recall)

    @property
    def global_fscore(self):
        return self._f(self.global_precision, self.global_recall)

    def matthewscc(self, use_global=False):
        """Matthews correlation coefficient (zero factors of the denominator count as 1)."""
        if use_global:
            if not self.global_total_examples:
                return 0.
            tp, fp = float(self.global_true_positives), float(self.global_false_positives)
            fn, tn = float(self.global_false_negatives), float(self.global_true_negatives)
        else:
            if not self.total_examples:
                return 0.
            tp, fp = float(self.true_positives), float(self.false_positives)
            fn, tn = float(self.false_negatives), float(self.true_negatives)
        denom = 1.
        for t in ((tp + fp), (tp + fn), (tn + fp), (tn + fn)):
            if t != 0.:
                denom *= t
        return ((tp * tn) - (fp * fn)) / math.sqrt(denom)

    @property
    def total_examples(self):
        return self.false_negatives + self.false_positives + self.true_negatives + \
            self.true_positives

    @property
    def global_total_examples(self):
        return self.global_false_negatives + self.global_false_positives + \
            self.global_true_negatives + self.global_true_positives

    def local_reset_stats(self):
        self.false_positives = self.false_negatives = 0
        self.true_positives = self.true_negatives = 0

    def reset_stats(self):
        self.local_reset_stats()
        self.global_false_positives = self.global_false_negatives = 0
        self.global_true_positives = self.global_true_negatives = 0


def _check_average(average):
    if average not in ("macro", "micro"):
        raise ValueError(f"average: expected 'macro' or 'micro', got {average!r}")
    return average


@register
class F1(EvalMetric):
    """F1 score ``2 * precision * recall / (precision + recall)`` of a binary classifier
    (predictions of shape (batch, 2), labels 0/1).

    Parameters
    ----------
    name : str, default 'f1'
    output_names, label_names : list of str, or None
    average : str, default 'macro'
        'macro': the mean of the per-update F1 scores; 'micro': one F1 score over all the
        counts since the last reset.
    """

    def __init__(self, name="f1", output_names=None, label_names=None, average="macro"):
        self.average = _check_average(average)
        self.metrics = _BinaryClassificationMetrics("F1")
        EvalMetric.__init__(self, name=name, output_names=output_names,
                            label_names=label_names, has_global_stats=True)

    def update(self, labels, preds):
        """Add a batch of binary labels and (batch, 2) predictions."""
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            self.metrics.update_binary_stats(label, pred)
        m = self.metrics
        if self.average == "macro":
            self.sum_metric += m.fscore
            self.global_sum_metric += m.global_fscore
            self.num_inst += 1
            self.global_num_inst += 1
            m.reset_stats()
        else:
            self.sum_metric = m.fscore * m.total_examples
            self.global_sum_metric = m.global_fscore * m.global_total_examples
            self.num_inst = m.total_examples
            self.global_num_inst = m.global_total_examples

    def reset(self):
        """Reset the local and global statistics."""
        self.sum_metric = 0.
        self.num_inst = 0
        self.global_num_inst = 0
        self.global_sum_metric = 0.0
        self.metrics.reset_stats()

    def reset_local(self):
        """Reset the local statistics."""
        self.sum_metric = 0.
        self.num_inst = 0
        self.metrics.local_reset_stats()


@register
class MCC(EvalMetric):
    """Matthews correlation coefficient of a binary classifier (predictions of shape
    (batch, 2), labels 0/1); zero factors of the denominator are replaced by 1.

    Parameters
    ----------
    name : str, default 'mcc'
    output_names, label_names : list of str, or None
    average : str, default 'macro'
        'macro': the mean of the per-update MCCs; 'micro': one MCC over all the counts.
    """

    def __init__(self, name="mcc", output_names=None, label_names=None, average="macro"):
        self._average = _check_average(average)
        self._metrics = _BinaryClassificationMetrics("MCC")
        EvalMetric.__init__(self, name=name, output_names=output_names,
                            label_names=label_names, has_global_stats=True)

    def update(self, labels, preds):
        """Add a batch of binary labels and (batch, 2) predictions."""
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            self._metrics.update_binary_stats(label, pred)
        m = self._metrics
        if self._average == "macro":
            self.sum_metric += m.matthewscc()
            self.global_sum_metric += m.matthewscc(use_global=True)
            self.num_inst += 1
            self.global_num_inst += 1
            m.reset_stats()
        else:
            self.sum_metric = m.matthewscc() * m.total_examples
            self.global_sum_metric = m.matthewscc(use_global=True) * m.global_total_examples
            self.num_inst = m.total_examples
            self.global_num_inst = m.global_total_examples

    def reset(self):
        """Reset the local and global statistics."""
        self.sum_metric = 0.
        self.num_inst = 0.
        self.global_sum_metric = 0.
        self.global_num_inst = 0.
        self._metrics.reset_stats()

    def reset_local(self):
        """Reset the local statistics."""
        self.sum_metric = 0.
        self.num_inst = 0.
        self._metrics.local_reset_stats()


@register
class Perplexity(EvalMetric):
    """Perplexity ``exp(-mean(log p(label)))`` of predicted probabilities.

    Parameters
    ----------
    ignore_label : int or None
        Label value whose entries are not counted (None: count everything).
    axis : int, default -1
        The class axis of the predictions.
    name : str, default 'perplexity'
    output_names, label_names : list of str, or None

    Each label picks its probability along ``axis`` (indices are clipped into range, as
    MXNet's ``pick``); probabilities are floored at 1e-10 before the log.
    """

    def __init__(self, ignore_label, axis=-1, name="perplexity", output_names=None,
                 label_names=None):
        super().__init__(name, ignore_label=ignore_label, output_names=output_names,
                         label_names=label_names, has_global_stats=True)
        self.ignore_label = ignore_label
        self.axis = axis

    def update(self, labels, preds):
        """Add a batch: labels of class indices, predictions of probabilities."""
        labels, preds = check_label_shapes(labels, preds, True)
        loss = 0.
        num = 0
        for label, pred in zip(labels, preds):
            label = _host(label, "labels")
            pred = _host(pred, "preds")
            if pred.ndim == 0 or not -pred.ndim <= self.axis < pred.ndim:
                raise ValueError(f"Perplexity: axis={self.axis} is out of range for "
                                 f"predictions of shape {pred.shape}")
            classes = pred.shape[self.axis]
            if classes == 0 or label.size != pred.size // classes:
                raise ValueError(f"Perplexity: shape mismatch: labels {label.shape} vs. "
                                 f"predictions {pred.shape} (one label per prediction along "
                                 f"axis {self.axis})")
            label = label.reshape((label.size,))
            flat = numpy.moveaxis(pred, self.axis, -1).reshape(-1, classes)
            idx = numpy.clip(label.astype("int32"), 0, classes - 1)
            picked = flat[numpy.arange(flat.shape[0]), idx]
            if self.ignore_label is not None:
                ignore = (label == self.ignore_label).astype(picked.dtype)
                num -= float(ignore.sum())
                picked = picked * (1 - ignore) + ignore
            loss -= float(numpy.sum(numpy.log(numpy.maximum(picked.dtype.type(1e-10),
                                                            picked))))
            num += picked.size
        self.sum_metric += loss
        self.global_sum_metric += loss
        self.num_inst += num
        self.global_num_inst += num

    def get(self):
        """``(name, exp(sum_metric / num_inst))``."""
        if self.num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, math.exp(self.sum_metric / self.num_inst))

    def get_global(self):
        """``(name, exp(global_sum_metric / global_num_inst))``."""
        if self.global_num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, math.exp(self.global_sum_metric / self.global_num_inst))


# --- regression ----------------------------------------------------------------------------
def _regression_pair(owner, label, pred):
    label = _host(label, "labels")
    pred = _host(pred, "preds")
    if label.ndim == 1:
        label = label.reshape(label.shape[0], 1)
    if pred.ndim == 1:
        pred = pred.reshape(pred.shape[0], 1)
    if label.shape != pred.shape:
        raise ValueError(f"{owner}: labels of shape {label.shape} do not match predictions of "
                         f"shape {pred.shape}")
    return label, pred


class _RegressionMetric(EvalMetric):
    """What MAE, MSE and RMSE share: each update adds one value, ``_error(label, pred)`` of
    a label/prediction pair of one shape (MXNet averages over updates, not samples)."""

    def __init__(self, name, output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def update(self, labels, preds):
        """Add a batch of labels and predictions of one shape (1-D means a column)."""
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            label, pred = _regression_pair(type(self).__name__, label, pred)
            self._add(float(self._error(label, pred)), 1)

    @staticmethod
    def _error(label, pred):
        raise NotImplementedError


@register
class MAE(_RegressionMetric):
    """Mean absolute error ``mean(|label - pred|)``, averaged over updates (each update
    counts once, as in MXNet).

    Parameters
    ----------
    name : str, default 'mae'
    output_names, label_names : list of str, or None
    """

    def __init__(self, name="mae", output_names=None, label_names=None):
        super().__init__(name, output_names, label_names)

    @staticmethod
    def _error(label, pred):
        return numpy.abs(label - pred).mean()


@register
class MSE(_RegressionMetric):
    """Mean squared error ``mean((label - pred)^2)``, averaged over updates.

    Parameters
    ----------
    name : str, default 'mse'
    output_names, label_names : list of str, or None
    """

    def __init__(self, name="mse", output_names=None, label_names=None):
        super().__init__(name, output_names, label_names)

    @staticmethod
    def _error(label, pred):
        return ((label - pred) ** 2.0).mean()


@register
class RMSE(_RegressionMetric):
    """Root mean squared error ``sqrt(mean((label - pred)^2))`` per update, averaged over
    updates.

    Parameters
    ----------
    name : str, default 'rmse'
    output_names, label_names : list of str, or None
    """

    def __init__(self, name="rmse", output_names=None, label_names=None):
        super().__init__(name, output_names, label_names)

    @staticmethod
    def _error(label, pred):
        return numpy.sqrt(((label - pred) ** 2.0).mean())


def _picked_probs(owner, label, pred):
    label = _host(label, "labels").ravel()
    pred = _host(pred, "preds")
    if pred.ndim != 2 or label.shape[0] != pred.shape[0]:
        raise ValueError(f"{owner}: predictions must have shape (batch_size, num_classes) "
                         f"with one label per row, got labels {label.shape} and "
                         f"predictions {pred.shape}")
    idx = numpy.int64(label)
    if idx.size and (idx.min() < 0 or idx.max() >= pred.shape[1]):
        raise ValueError(f"{owner}: labels must be class indices in [0, {pred.shape[1]}), got "
                         f"values from {idx.min()} to {idx.max()}")
    return pred[numpy.arange(label.shape[0], dtype=numpy.int64), idx]


class _LogLikelihood(EvalMetric):
    """What CrossEntropy and NegativeLogLikelihood compute (MXNet has both):
    ``-mean(log(p[label] + eps))`` of probabilities (batch, classes) and class indices."""

    def __init__(self, eps, name, output_names=None, label_names=None):
        super().__init__(name, eps=eps, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.eps = eps

    def update(self, labels, preds):
        """Add a batch of class-index labels and (batch, classes) probabilities."""
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            prob = _picked_probs(type(self).__name__, label, pred)
            self._add(float((-numpy.log(prob + self.eps)).sum()), prob.shape[0])


@register
@alias("ce")
class CrossEntropy(_LogLikelihood):
    """Cross-entropy ``-mean(log(p[label] + eps))`` of predicted probabilities (batch,
    classes) and class-index labels.

    Parameters
    ----------
    eps : float, default 1e-12
        Added to the probabilities before the log.
    name : str, default 'cross-entropy'
    output_names, label_names : list of str, or None
    """

    def __init__(self, eps=1e-12, name="cross-entropy", output_names=None, label_names=None):
        super().__init__(eps, name, output_names, label_names)


@register
@alias("nll_loss")
class NegativeLogLikelihood(_LogLikelihood):
    """Negative log-likelihood ``-mean(log(p[label] + eps))`` of predicted probabilities
    (batch, classes) and class-index labels.

    Parameters
    ----------
    eps : float, default 1e-12
        Added to the probabilities before the log.
    name : str, default 'nll-loss'
    output_names, label_names : list of str, or None
    """

    def __init__(self, eps=1e-12, name="nll-loss", output_names=None, label_names=None):
        super().__init__(eps, name, output_names, label_names)


@register
@alias("pearsonr")
class PearsonCorrelation(EvalMetric):
    """Pearson correlation of labels and predictions (of one shape, flattened).

    Parameters
    ----------
    name : str, default 'pearsonr'
    output_names, label_names : list of str, or None
    average : str, default 'macro'
        'macro': the mean of the per-update correlations; 'micro': one correlation over
        all the values seen (running means and variances, Welford's algorithm).
    """

    def __init__(self, name="pearsonr", output_names=None, label_names=None,
                 average="macro"):
        self.average = _check_average(average)
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        if self.average == "micro":
            self.reset_micro()

    def reset_micro(self):
        """Reset the running statistics of the 'micro' average."""
        self._sse_p = 0
        self._mean_p = 0
        self._sse_l = 0
        self._mean_l = 0
        self._pred_nums = 0
        self._label_nums = 0
        self._conv = 0

    def reset(self):
        """Reset the local and global statistics."""
        self.num_inst = 0
        self.sum_metric = 0.0
        self.global_num_inst = 0
        self.global_sum_metric = 0.0
        if self.average == "micro":
            self.reset_micro()

    def update_variance(self, new_values, *aggregate):
        """Welford's online update of ``(count, mean, M2)`` with ``new_values``."""
        count, mean, m_2 = aggregate
        count += len(new_values)
        delta = new_values - mean
        mean += numpy.sum(delta / count)
        delta_2 = new_values - mean
        m_2 += numpy.sum(delta * delta_2)
        return count, mean, m_2

    def update_cov(self, label, pred):
        """Accumulate the co-moment of labels and predictions."""
        self._conv = self._conv + numpy.sum((label - self._mean_l) * (pred - self._mean_p))

    def update(self, labels, preds):
        """Add a batch of labels and predictions of one shape."""
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            label = _host(label, "labels")
            pred = _host(pred, "preds")
            check_label_shapes(label, pred, False, True)
            label = label.ravel().astype(numpy.float64)
            pred = pred.ravel().astype(numpy.float64)
            if self.average == "macro":
                pearson_corr = float(numpy.corrcoef(pred, label)[0, 1])
                self._add(pearson_corr, 1)
            else:
                self.global_num_inst += 1
                self.num_inst += 1
                self._label_nums, self._mean_l, self._sse_l = \
                    self.update_variance(label, self._label_nums, self._mean_l, self._sse_l)
                self.update_cov(label, pred)
                self._pred_nums, self._mean_p, self._sse_p = \
                    self.update_variance(pred, self._pred_nums, self._mean_p, self._sse_p)

    def _micro(self):
        n = self._label_nums
        return float(self._conv / ((n - 1) * numpy.sqrt(self._sse_p / (n - 1))
                                   * numpy.sqrt(self._sse_l / (n - 1))))

    def get(self):
        """``(name, correlation)``."""
        if self.num_inst == 0:
            return (self.name, float("nan"))
        if self.average == "macro":
            return (self.name, self.sum_metric / self.num_inst)
        return (self.name, self._micro())

    def get_global(self):
        """``(name, correlation)`` since the last ``reset``. With 'micro' this is the
        correlation of every value seen since then (MXNet 1.9.1 returns 0.0 here, as it
        never fills the global sums of the micro average)."""
        if self.average == "macro":
            return super().get_global()
        if self.global_num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, self._micro())


@register
class PCC(EvalMetric):
    """Multiclass Matthews correlation (the discrete Pearson correlation of the
    confusion matrix); for two classes it equals :class:`MCC`. The matrix grows as new
    classes appear.

    Parameters
    ----------
    name : str, default 'pcc'
    output_names, label_names : list of str, or None
    has_global_stats : bool, default True
    """

    def __init__(self, name="pcc", output_names=None, label_names=None,
                 has_global_stats=True):
        self.k = 2
        super().__init__(name=name, output_names=output_names, label_names=label_names,
                         has_global_stats=has_global_stats)

    def _grow(self, inc):
        self.lcm = numpy.pad(self.lcm, ((0, inc), (0, inc)), "constant", constant_values=(0))
        self.gcm = numpy.pad(self.gcm, ((0, inc), (0, inc)), "constant", constant_values=(0))
        self.k += inc

    def _calc_mcc(self, cmat):
        n = cmat.sum()
        x = cmat.sum(axis=1)
        y = cmat.sum(axis=0)
        cov_xx = numpy.sum(x * (n - x))
        cov_yy = numpy.sum(y * (n - y))
        if cov_xx == 0 or cov_yy == 0:
            return float("nan")
        i = cmat.diagonal()
        cov_xy = numpy.sum(i * n - x * y)
        return float(cov_xy / (cov_xx * cov_yy) ** 0.5)

    def update(self, labels, preds):
        """Add a batch: class-index labels, predictions of scores or class indices."""
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            label = _host(label, "labels").astype("int32")
            pred = _host(pred, "preds")
            if pred.shape != label.shape:
                pred = pred.argmax(axis=1)
            else:
                pred = pred.astype("int32")
            pred, label = pred.ravel(), label.ravel()
            check_label_shapes(label, pred)
            if label.size == 0:
                continue
            if min(pred.min(), label.min()) < 0:
                raise ValueError("PCC: labels and predicted classes must be non-negative")
            n = max(pred.max(), label.max())
            if n >= self.k:
                self._grow(int(n) + 1 - self.k)
            bcm = numpy.zeros((self.k, self.k))
            numpy.add.at(bcm, (pred, label), 1)
            self.lcm += bcm
            self.gcm += bcm
        self.num_inst += 1
        self.global_num_inst += 1

    @property
    def sum_metric(self):
        return self._calc_mcc(self.lcm) * self.num_inst

    @property
    def global_sum_metric(self):
        return self._calc_mcc(self.gcm) * self.global_num_inst

    def reset(self):
        """Reset the local and global confusion matrices."""
        self.global_num_inst = 0.
        self.gcm = numpy.zeros((self.k, self.k))
        self.reset_local()

    def reset_local(self):
        """Reset the local confusion matrix."""
        self.num_inst = 0.
        self.lcm = numpy.zeros((self.k, self.k))


@register
class Loss(EvalMetric):
    """Mean of loss values: ``update(_, preds)`` adds ``sum(pred)`` and counts
    ``pred.size`` (labels are ignored).

    Parameters
    ----------
    name : str, default 'loss'
    output_names, label_names : list of str, or None
    """

    def __init__(self, name="loss", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def update(self, _, preds):
        """Add a batch of loss values (one array or a list of arrays)."""
        for pred in _wrap(preds):
            pred = _host(pred, "preds")
            self._add(float(numpy.sum(pred)), pred.size)


@register
class Torch(Loss):
    """Dummy metric for torch criterions (a :class:`Loss` named 'torch')."""

    def __init__(self, name="torch", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names)


@register
class Caffe(Loss):
    """Dummy metric for caffe criterions (a :class:`Loss` named 'caffe')."""

    def __init__(self, name="caffe", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names)


@register
class CustomMetric(EvalMetric):
    """A metric computed by ``feval(label, pred)`` on numpy arrays, one call per
    (label, pred) pair; ``feval`` returns the value (counted once) or a tuple
    ``(sum_metric, num_inst)``.

    Parameters
    ----------
    feval : callable(label, pred)
    name : str, optional
        Defaults to ``feval.__name__`` (``'custom(<lambda>)'`` for lambdas).
    allow_extra_outputs : bool, default False
        Allow more predictions than labels (e.g. RNN states among the outputs).
    output_names, label_names : list of str, or None
    """

    def __init__(self, feval, name=None, allow_extra_outputs=False, output_names=None,
                 label_names=None):
        if not callable(feval):
            raise TypeError(f"feval: expected a function feval(label, pred), got "
                            f"{type(feval).__name__}")
        if name is None:
            name = getattr(feval, "__name__", type(feval).__name__)
            if name.find("<") != -1:
                name = f"custom({name})"
        super().__init__(name, feval=feval, allow_extra_outputs=allow_extra_outputs,
                         output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self._feval = feval
        self._allow_extra_outputs = allow_extra_outputs

    def update(self, labels, preds):
        """Call ``feval`` on each (label, pred) pair as numpy arrays and accumulate."""
        if not self._allow_extra_outputs:
            labels, preds = check_label_shapes(labels, preds, True)
        else:
            labels, preds = _wrap(labels), _wrap(preds)
        for pred, label in zip(preds, labels):
            reval = self._feval(_host(label, "labels"), _host(pred, "preds"))
            if isinstance(reval, tuple):
                if len(reval) != 2:
                    raise ValueError(f"{self.name}: feval must return a number or a tuple "
                                     f"(sum_metric, num_inst), got a tuple of {len(reval)}")
                sum_metric, num_inst = reval
                self._add(_as_python(sum_metric), _as_python(num_inst))
            else:
                self._add(_as_python(reval), 1)

    def get_config(self):
        raise NotImplementedError("CustomMetric cannot be serialized")


# pylint: disable=invalid-name
def np(numpy_feval, name=None, allow_extra_outputs=False):
    """A :class:`CustomMetric` from ``numpy_feval(label, pred)``, a function of numpy
    arrays returning the metric of a batch.

    >>> def custom_metric(label, pred):
    ...     return numpy.mean(numpy.abs(label - pred))
    >>> metric = mx.metric.np(custom_metric)
    """
    def feval(label, pred):
        """Internal eval function."""
        return numpy_feval(label, pred)
    feval.__name__ = numpy_feval.__name__
    return CustomMetric(feval, name, allow_extra_outputs)
# pylint: enable=invalid-name


def _leaves(metric):
    if isinstance(metric, CompositeEvalMetric):
        out = []
        for m in metric.metrics:
            out.extend(_leaves(m))
        return out
    return [metric]


def reduce_across_workers(metric, kvstore):
    """A copy of ``metric`` whose statistics are summed over every worker of a distributed
    ``kvstore`` (a collective: every worker must call it, e.g. at the end of an epoch).

    The copy's ``get()``/``get_global()`` then give the metric of all workers' samples
    together. Metrics whose statistics are additive counts are supported (accuracy,
    top-k, losses, regression errors, cross-entropy, perplexity, macro F1/MCC, custom
    metrics, and composites of them); micro-averaged F1/MCC, Pearson correlation and PCC
    keep non-additive state and raise NotImplementedError. With a single-worker store
    (or ``kvstore=None``) the copy equals ``metric``.

    Parameters
    ----------
    metric : EvalMetric
    kvstore : KVStore or None
        A store with ``num_workers`` and ``allreduce(numpy_array)`` (``mx.kv.create(
        'dist_sync')``).
    """
    if not isinstance(metric, EvalMetric):
        raise TypeError(f"metric: expected an EvalMetric, got {type(metric).__name__}")
    leaves = _leaves(metric)
    for m in leaves:
        if (isinstance(m, (PearsonCorrelation, PCC))
                or (isinstance(m, (F1, MCC)) and m.average == "micro")):
            raise NotImplementedError(
                f"reduce_across_workers: {type(m).__name__} "
                f"{'(average=micro) ' if isinstance(m, (F1, MCC)) else ''}keeps non-additive "
                "statistics that cannot be summed over workers")
    reduced = copy.deepcopy(metric)
    if kvstore is None or getattr(kvstore, "num_workers", 1) == 1:
        return reduced
    if not callable(getattr(kvstore, "allreduce", None)):
        raise TypeError(f"kvstore: expected a distributed store with allreduce(), got "
                        f"{type(kvstore).__name__}")
    fields = ("sum_metric", "num_inst", "global_sum_metric", "global_num_inst")
    stats = numpy.array([float(getattr(m, f)) for m in leaves for f in fields],
                        dtype=numpy.float64)
    totals = kvstore.allreduce(stats).reshape(len(leaves), len(fields))
    for m, row in zip(_leaves(reduced), totals):
        for f, v in zip(fields, row):
            setattr(m, f, int(round(v)) if f.endswith("num_inst") else float(v))
    return reduced
