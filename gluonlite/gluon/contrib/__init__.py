"""Contributed Gluon modules (MXNet's ``gluon.contrib``): ``contrib.nn``."""
from . import nn  # noqa: F401
