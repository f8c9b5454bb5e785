"""The Module API (MXNet 1.9.1's ``mx.mod``): ``Module`` trains a Symbol with ``fit``,
``score`` and ``predict``; ``BucketingModule`` switches between symbols that share
parameters. Executors run through gluonlite's compiler, like hybridized Gluon blocks."""
from .base_module import BaseModule, ModuleStateError
from .module import Module
from .bucketing_module import BucketingModule
from .executor_group import DataParallelExecutorGroup

__all__ = ["BaseModule", "Module", "BucketingModule", "DataParallelExecutorGroup",
           "ModuleStateError"]
