"""Optimizers (MXNet's ``mx.optimizer``).

``mx.optimizer.create('adam', learning_rate=0.01)`` builds a registered optimizer by its
lower-case name; Gluon's ``Trainer`` does the same with its ``optimizer`` argument.
Subclass :class:`Optimizer` and decorate with :func:`register` to add one.
"""
from .optimizer import Optimizer, Updater, register, create, get_updater  # noqa: F401
from .sgd import SGD, ccSGD, NAG, Signum, DCASGD, SGLD, Test  # noqa: F401
from .adam import Adam, AdamW, Adamax, Nadam, LAMB  # noqa: F401
from .adaptive import AdaGrad, RMSProp, AdaDelta, Ftrl, FTML  # noqa: F401
from .lars import LARS, LBSGD  # noqa: F401

__all__ = ["Optimizer", "Updater", "register", "create", "get_updater", "SGD", "ccSGD",
           "NAG", "Signum", "DCASGD", "SGLD", "Test", "Adam", "AdamW", "Adamax", "Nadam",
           "LAMB", "AdaGrad", "RMSProp", "AdaDelta", "Ftrl", "FTML", "LARS", "LBSGD"]
