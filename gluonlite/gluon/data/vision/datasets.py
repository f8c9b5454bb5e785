"""Vision datasets (MXNet 1.9.1's ``gluon.data.vision.datasets``).

``MNIST``, ``FashionMNIST``, ``CIFAR10`` and ``CIFAR100`` hold the whole split in memory:
``dataset[i]`` is ``(image, label)`` with ``image`` a uint8 NDArray ``(28, 28, 1)`` or
``(32, 32, 3)`` and ``label`` a ``numpy.int32``; a slice ``dataset[0:9]`` gives an NDArray
batch ``(9, 28, 28, 1)`` and a numpy int32 array of labels, as in MXNet. ``transform`` (if
given) is called as ``transform(data, label)``.

Where the files come from, in order:

1. ``root`` (default ``$MXNET_HOME/datasets/<name>``, ``~/.mxnet/datasets/<name>``): files
   whose SHA-1 is the one MXNet records, or — for Fashion-MNIST, whose Debian package
   recompresses the files — whose *decompressed* content has the SHA-1 of the published
   data;
2. system dataset folders: ``$GLUONLITE_DATASET_DIRS`` (``os.pathsep``-separated), then
   ``/usr/share/datasets`` and ``/usr/local/share/datasets``, each with a ``<name>``
   subfolder (Debian's ``dataset-fashion-mnist`` installs
   ``/usr/share/datasets/fashion-mnist``). Such copies are accepted when their file or
   decompressed-content SHA-1 is known to be right; where no content hash is known (MNIST),
   when their headers and sizes are those of the dataset;
3. a download from MXNet's repository (``$MXNET_GLUON_REPO``, default MXNet's S3 bucket)
   into ``root``, checked against MXNet's SHA-1.

``ImageFolderDataset`` reads a folder of class sub-folders and ``ImageRecordDataset`` a
RecordIO file of encoded images; both decode with Pillow (``pip install 'gluonlite[image]'``).
"""
from __future__ import annotations

import gzip
import hashlib
import os
import struct
import tarfile
import warnings

import numpy as np

from .... import image, recordio
from ....context import cpu
from ....ndarray import NDArray
from ...utils import _get_repo_file_url, check_sha1, download
from ..dataset import Dataset, RecordFileDataset

__all__ = ["MNIST", "FashionMNIST", "CIFAR10", "CIFAR100", "ImageRecordDataset",
           "ImageFolderDataset"]

#: SHA-1 of the decompressed files, for copies whose compressed bytes differ from MXNet's
#: (Debian recompresses Fashion-MNIST); keyed by (dataset name, file name).
_CONTENT_SHA1 = {
    ("fashion-mnist", "train-images-idx3-ubyte.gz"): "b9bd999c0106c9b8b4b0cefce58c9a6060f27095",
    ("fashion-mnist", "train-labels-idx1-ubyte.gz"): "4bccf37222e01638381eaa326bf730337a597267",
    ("fashion-mnist", "t10k-images-idx3-ubyte.gz"): "880056926db704f9f713097915f99da346f5b1d1",
    ("fashion-mnist", "t10k-labels-idx1-ubyte.gz"): "958122e8b4b97fd4e71eca2d08ef754ed77c3ad9",
}

_SYSTEM_DIRS = ("/usr/share/datasets", "/usr/local/share/datasets")


def _data_dir():
    """MXNet's data directory: ``$MXNET_HOME`` or ``~/.mxnet``."""
    return os.getenv("MXNET_HOME", os.path.join(os.path.expanduser("~"), ".mxnet"))


def _system_dirs(name):
    extra = [d for d in os.environ.get("GLUONLITE_DATASET_DIRS", "").split(os.pathsep) if d]
    return [os.path.join(d, name) for d in extra + list(_SYSTEM_DIRS)]


def _download(url, root, sha1):
    """Download ``url`` into the folder ``root``, checked against ``sha1``; the path."""
    os.makedirs(root, exist_ok=True)
    return download(url, path=root, sha1_hash=sha1)


def _read_idx(path, ndim, want_hash=False):
    """Read a gzip-compressed idx file of uint8 values with ``ndim`` dimensions; returns
    ``(array, SHA-1 of the decompressed bytes or None)``. Raises ValueError if it is not
    one."""
    h = hashlib.sha1() if want_hash else None
    with gzip.open(path, "rb") as f:
        head = f.read(4 + 4 * ndim)
        if len(head) != 4 + 4 * ndim or head[:3] != b"\x00\x00\x08" or head[3] != ndim:
            raise ValueError(f"{path} is not an idx file of {ndim}-D uint8 data (header "
                             f"{head[:4].hex()})")
        if h is not None:
            h.update(head)
        dims = struct.unpack(">" + "I" * ndim, head[4:])
        arr = np.empty(int(np.prod(dims)), np.uint8)
        view = memoryview(arr)
        got = 0
        while got < arr.size:
            n = f.readinto(view[got:])
            if not n:
                break
            got += n
        if got != arr.size or f.read(1):
            raise ValueError(f"{path}: the header announces {dims} values but the file holds "
                             f"{'fewer' if got != arr.size else 'more'}")
        if h is not None:
            h.update(arr)
    return arr.reshape(dims), (h.hexdigest() if h is not None else None)


class _DownloadedDataset(Dataset):
    """Base class of the datasets held in memory (``_data`` NDArray, ``_label`` numpy)."""

    def __init__(self, root, transform):
        super().__init__()
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(f"root: expected a folder path, got {type(root).__name__}")
        if transform is not None and not callable(transform):
            raise TypeError(f"transform: expected a callable transform(data, label) or None, "
                            f"got {type(transform).__name__}")
        if not isinstance(self._train, (bool, np.bool_)):
            raise TypeError(f"train: expected True or False, got {self._train!r}")
        self._transform = transform
        self._data = None
        self._label = None
        self._root = os.path.expanduser(os.fspath(root))
        self._get_data()

    def __getitem__(self, idx):
        if self._transform is not None:
            return self._transform(self._data[idx], self._label[idx])
        return self._data[idx], self._label[idx]

    def __len__(self):
        return len(self._label)

    def _get_data(self):
        raise NotImplementedError


class MNIST(_DownloadedDataset):
    """MNIST handwritten digits (http://yann.lecun.com/exdb/mnist): 60000 training and
    10000 test images ``(28, 28, 1)`` uint8 with int32 labels 0-9.

    Parameters
    ----------
    root : str, default $MXNET_HOME/datasets/mnist
        Folder of the files (see the module documentation for where else they are found).
    train : bool, default True
        The training set (True) or the test set (False).
    transform : callable, default None
        Called as ``transform(data, label)`` on every sample, e.g.
        ``lambda data, label: (data.astype(np.float32) / 255, label)``.
    """

    # (file name, MXNet's SHA-1) of each file, and the dataset's folder name
    _train_data = ("train-images-idx3-ubyte.gz", "6c95f4b05d2bf285e1bfb0e7960c31bd3b3f8a7d")
    _train_label = ("train-labels-idx1-ubyte.gz", "2a80914081dc54586dbdf242f9805a6b8d2a15fc")
    _test_data = ("t10k-images-idx3-ubyte.gz", "c3a25af1f52dad7f726cce8cacb138654b760d48")
    _test_label = ("t10k-labels-idx1-ubyte.gz", "763e7fa3757d93b0cdec073cef058b2004252c17")
    _namespace = "mnist"

    def __init__(self, root=os.path.join(_data_dir(), "datasets", "mnist"),
                 train=True, transform=None):
        self._train = train
        super().__init__(root, transform)

    def _load(self, name, sha1, ndim):
        """The array in file ``name``: from root, a system folder, or downloaded."""
        known = _CONTENT_SHA1.get((self._namespace, name))
        candidates = [(os.path.join(self._root, name), False)]
        candidates += [(os.path.join(d, name), True) for d in _system_dirs(self._namespace)]
        for path, system in candidates:
            if not os.path.isfile(path):
                continue
            file_ok = check_sha1(path, sha1)
            if not (file_ok or known or system):
                continue  # a root copy MXNet would not accept: download it again
            try:
                arr, content = _read_idx(path, ndim, want_hash=not file_ok and bool(known))
            except (OSError, ValueError, EOFError) as e:
                warnings.warn(f"ignoring {path}: {e}", stacklevel=4)
                continue
            if file_ok or (known is not None and content == known) or \
                    (system and known is None):
                return arr
            warnings.warn(f"ignoring {path}: its content does not match the published "
                          f"{self._namespace} file {name}", stacklevel=4)
        url = _get_repo_file_url("gluon/dataset/" + self._namespace, name)
        path = _download(url, self._root, sha1)
        return _read_idx(path, ndim)[0]

    def _get_data(self):
        if self._train:
            data, label = self._train_data, self._train_label
        else:
            data, label = self._test_data, self._test_label
        labels = self._load(*label, ndim=1)
        images = self._load(*data, ndim=3)
        if images.shape[0] != labels.shape[0]:
            raise ValueError(f"{type(self).__name__}: {data[0]} holds {images.shape[0]} images "
                             f"but {label[0]} holds {labels.shape[0]} labels")
        n, rows, cols = images.shape
        self._data = NDArray(images.reshape(n, rows, cols, 1), cpu())
        self._label = labels.astype(np.int32)


class FashionMNIST(MNIST):
    """Fashion-MNIST (https://github.com/zalandoresearch/fashion-mnist), Zalando's drop-in
    replacement of MNIST: 60000/10000 images ``(28, 28, 1)`` uint8 of 10 clothing classes,
    int32 labels 0-9. Parameters as :class:`MNIST`; ``root`` defaults to
    ``$MXNET_HOME/datasets/fashion-mnist``. Debian's ``dataset-fashion-mnist`` package
    (``/usr/share/datasets/fashion-mnist``) is used when present."""

    _train_data = ("train-images-idx3-ubyte.gz", "0cf37b0d40ed5169c6b3aba31069a9770ac9043d")
    _train_label = ("train-labels-idx1-ubyte.gz", "236021d52f1e40852b06a4c3008d8de8aef1e40b")
    _test_data = ("t10k-images-idx3-ubyte.gz", "626ed6a7c06dd17c0eec72fa3be1740f146a2863")
    _test_label = ("t10k-labels-idx1-ubyte.gz", "17f9ab60e7257a1620f4ad76bbbaf857c3920701")
    _namespace = "fashion-mnist"

    def __init__(self, root=os.path.join(_data_dir(), "datasets", "fashion-mnist"),
                 train=True, transform=None):
        super().__init__(root, train, transform)


class CIFAR10(_DownloadedDataset):
    """CIFAR-10 (https://www.cs.toronto.edu/~kriz/cifar.html): 50000 training and 10000
    test images ``(32, 32, 3)`` uint8 with int32 labels 0-9.

    Parameters
    ----------
    root : str, default $MXNET_HOME/datasets/cifar10
        Folder of the binary batches (``data_batch_1.bin`` ... ``test_batch.bin``, directly
        or in the archive's ``cifar-10-batches-bin`` sub-folder).
    train : bool, default True
        The training set (True) or the test set (False).
    transform : callable, default None
        Called as ``transform(data, label)`` on every sample.
    """

    _record = 3072 + 1
    _subdir = "cifar-10-batches-bin"
    # (file name, MXNet's SHA-1) of the archive and of each batch
    _archive_file = ("cifar-10-binary.tar.gz", "fab780a1e191a7eda0f345501ccd62d20f7ed891")
    _train_data = [("data_batch_1.bin", "aadd24acce27caa71bf4b10992e9e7b2d74c2540"),
                   ("data_batch_2.bin", "c0ba65cce70568cd57b4e03e9ac8d2a5367c1795"),
                   ("data_batch_3.bin", "1dd00a74ab1d17a6e7d73e185b69dbf31242f295"),
                   ("data_batch_4.bin", "aab85764eb3584312d3c7f65fd2fd016e36a258e"),
                   ("data_batch_5.bin", "26e2849e66a845b7f1e4614ae70f4889ae604628")]
    _test_data = [("test_batch.bin", "67eb016db431130d61cd03c7ad570b013799c88c")]
    _namespace = "cifar10"

    def __init__(self, root=os.path.join(_data_dir(), "datasets", "cifar10"),
                 train=True, transform=None):
        self._train = train
        super().__init__(root, transform)

    def _read_batch(self, filename):
        with open(filename, "rb") as fin:
            raw = fin.read()
        if len(raw) == 0 or len(raw) % self._record:
            raise ValueError(f"{filename} is not a CIFAR binary batch: {len(raw)} bytes is not "
                             f"a multiple of the record size {self._record}")
        data = np.frombuffer(raw, dtype=np.uint8).reshape(-1, self._record)
        offset = self._record - 3072
        images = data[:, offset:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return images, data[:, self._label_column()].astype(np.int32)

    def _label_column(self):
        return 0

    def _find(self, name, sha1, verify_system):
        """A path of batch ``name``: root (SHA-1 checked) or a system folder."""
        for folder in (self._root, os.path.join(self._root, self._subdir)):
            path = os.path.join(folder, name)
            if os.path.isfile(path) and check_sha1(path, sha1):
                return path
        if not verify_system:
            return None
        for d in _system_dirs(self._namespace):
            for folder in (d, os.path.join(d, self._subdir)):
                path = os.path.join(folder, name)
                if os.path.isfile(path) and os.path.getsize(path) > 0 and \
                        os.path.getsize(path) % self._record == 0:
                    return path
        return None

    def _get_data(self):
        files = self._train_data if self._train else self._test_data
        paths = [self._find(name, sha1, True) for name, sha1 in files]
        if any(p is None for p in paths):
            url = _get_repo_file_url("gluon/dataset/" + self._namespace, self._archive_file[0])
            archive = _download(url, self._root, self._archive_file[1])
            _extract(archive, self._root)
            paths = [self._find(name, sha1, False) for name, sha1 in files]
            missing = [name for (name, _), p in zip(files, paths) if p is None]
            if missing:
                raise RuntimeError(f"{type(self).__name__}: {archive} does not contain "
                                   f"{missing} with the expected SHA-1")
        data, label = zip(*(self._read_batch(p) for p in paths))
        data = np.concatenate(data)
        self._data = NDArray(np.ascontiguousarray(data), cpu())
        self._label = np.concatenate(label)


class CIFAR100(CIFAR10):
    """CIFAR-100: 50000/10000 images ``(32, 32, 3)`` uint8 with int32 labels, the 20
    coarse classes (``fine_label=False``, default) or the 100 fine ones. Other parameters as
    :class:`CIFAR10`; ``root`` defaults to ``$MXNET_HOME/datasets/cifar100``."""

    _record = 3072 + 2
    _subdir = "cifar-100-binary"

    _archive_file = ("cifar-100-binary.tar.gz", "a0bb982c76b83111308126cc779a992fa506b90b")
    _train_data = [("train.bin", "e207cd2e05b73b1393c74c7f5e7bea451d63e08e")]
    _test_data = [("test.bin", "8fb6623e830365ff53cf14adec797474f5478006")]
    _namespace = "cifar100"

    def __init__(self, root=os.path.join(_data_dir(), "datasets", "cifar100"),
                 fine_label=False, train=True, transform=None):
        self._train = train
        if not isinstance(fine_label, (bool, np.bool_)):
            raise TypeError(f"fine_label: expected True or False, got {fine_label!r}")
        self._fine_label = fine_label
        _DownloadedDataset.__init__(self, root, transform)

    def _label_column(self):
        return 0 + int(self._fine_label)


def _extract(archive, root):
    """Extract the tar archive into ``root``, refusing members that would land outside."""
    base = os.path.realpath(root)
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        for m in members:
            target = os.path.realpath(os.path.join(base, m.name))
            if not (target == base or target.startswith(base + os.sep)) or \
                    not (m.isfile() or m.isdir()):
                raise RuntimeError(f"refusing to extract {m.name!r} from {archive}: not a "
                                   f"plain file or folder inside {root}")
        if hasattr(tarfile, "data_filter"):
            tar.extractall(base, members=members, filter="data")
        else:  # pragma: no cover - Pythons without extraction filters
            tar.extractall(base, members=members)


class ImageRecordDataset(RecordFileDataset):
    """Images in a RecordIO file (``.rec`` with its ``.idx``), as packed by ``im2rec`` or
    ``recordio.pack_img``: each sample is ``(image, label)``, the image decoded to an
    ``(H, W, C)`` uint8 NDArray (``flag=1`` colour RGB, ``flag=0`` greyscale) and the label
    the record header's label (a float, or a float32 numpy array)."""

    def __init__(self, filename, flag=1, transform=None):
        if transform is not None and not callable(transform):
            raise TypeError(f"transform: expected a callable transform(data, label) or None, "
                            f"got {type(transform).__name__}")
        super().__init__(filename)
        self._flag = flag
        self._transform = transform

    def __getitem__(self, idx):
        record = super().__getitem__(idx)
        header, img = recordio.unpack(record)
        data = image.imdecode(img, self._flag)
        if self._transform is not None:
            return self._transform(data, header.label)
        return data, header.label


class ImageFolderDataset(Dataset):
    """Images stored as ``root/<class name>/<file>`` (``.jpg``, ``.jpeg``, ``.png``).

    Classes are the sub-folders in sorted order: ``synsets[i]`` is the name of label ``i``;
    ``items`` lists ``(filename, label)`` pairs. Files of other types and non-folders are
    skipped with a warning. Samples are ``(image, label)``, the image decoded to an
    ``(H, W, C)`` uint8 NDArray (``flag=1`` colour, ``flag=0`` greyscale); ``transform``
    is called as ``transform(image, label)``.
    """

    def __init__(self, root, flag=1, transform=None):
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(f"root: expected a folder path, got {type(root).__name__}")
        self._root = os.path.expanduser(os.fspath(root))
        if not os.path.isdir(self._root):
            raise FileNotFoundError(f"ImageFolderDataset: root {self._root!r} is not a folder")
        if transform is not None and not callable(transform):
            raise TypeError(f"transform: expected a callable transform(data, label) or None, "
                            f"got {type(transform).__name__}")
        self._flag = flag
        self._transform = transform
        self._exts = [".jpg", ".jpeg", ".png"]
        self._list_images(self._root)

    def _list_images(self, root):
        self.synsets = []
        self.items = []
        for folder in sorted(os.listdir(root)):
            path = os.path.join(root, folder)
            if not os.path.isdir(path):
                warnings.warn(f"Ignoring {path}, which is not a directory.", stacklevel=3)
                continue
            label = len(self.synsets)
            self.synsets.append(folder)
            for filename in sorted(os.listdir(path)):
                filename = os.path.join(path, filename)
                ext = os.path.splitext(filename)[1]
                if ext.lower() not in self._exts:
                    warnings.warn(f"Ignoring {filename} of type {ext}. Only support "
                                  f"{', '.join(self._exts)}", stacklevel=3)
                    continue
                self.items.append((filename, label))

    def __getitem__(self, idx):
        img = image.imread(self.items[idx][0], self._flag)
        label = self.items[idx][1]
        if self._transform is not None:
            return self._transform(img, label)
        return img, label

    def __len__(self):
        return len(self.items)
