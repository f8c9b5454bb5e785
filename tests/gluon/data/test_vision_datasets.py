"""gluon.data.vision datasets: Debian's Fashion-MNIST checked against what MXNet 1.9.1 reads
from the same files (tests/fixtures/images/mxnet_image_ref.json), synthetic MNIST/CIFAR files
for the file-finding rules, and downloads from a loopback HTTP server (never the internet)."""
import functools
import gzip
import hashlib
import http.server
import io
import json
import os
import tarfile
import threading
import warnings

import numpy as np
import pytest

from gluonlite import recordio
from gluonlite.gluon.data import DataLoader
from gluonlite.gluon.data.vision import (CIFAR10, CIFAR100, MNIST, FashionMNIST,
                                         ImageFolderDataset, ImageRecordDataset, datasets,
                                         transforms)

from ...conftest import FASHION_MNIST, FIXTURES

INFO = json.loads((FIXTURES / "images" / "mxnet_image_ref.json").read_text())
needs_fashion = pytest.mark.skipif(
    not FASHION_MNIST.is_dir(),
    reason="Fashion-MNIST is not installed (Debian package dataset-fashion-mnist, "
           "/usr/share/datasets/fashion-mnist)")
try:
    from PIL import Image
except ImportError:
    Image = None
needs_pillow = pytest.mark.skipif(Image is None, reason="needs Pillow (pip install "
                                  "'gluonlite[image]')")


def sha1(path):
    return hashlib.sha1(open(path, "rb").read()).hexdigest()


@pytest.fixture
def isolated(monkeypatch):
    """No system dataset folders and no network: downloads must be explicitly served."""
    monkeypatch.setattr(datasets, "_SYSTEM_DIRS", ())
    monkeypatch.delenv("GLUONLITE_DATASET_DIRS", raising=False)
    monkeypatch.setenv("MXNET_GLUON_REPO", "http://127.0.0.1:9/")


def forbid_download(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError(f"unexpected download {args}")
    monkeypatch.setattr(datasets, "download", fail)


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A loopback HTTP server over tmp_path/'repo', set as MXNET_GLUON_REPO."""
    repo = tmp_path / "repo"
    repo.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            functools.partial(Quiet, directory=str(repo)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    monkeypatch.setenv("MXNET_GLUON_REPO", f"http://127.0.0.1:{httpd.server_address[1]}")
    yield repo
    httpd.shutdown()
    httpd.server_close()


# --- synthetic files -------------------------------------------------------------------------
def write_idx(path, arr):
    head = b"\x00\x00\x08" + bytes([arr.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in arr.shape)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with gzip.open(path, "wb") as f:
        f.write(head + arr.astype(np.uint8).tobytes())


def mnist_files(folder, n=7, seed=0, rows=28, cols=28):
    rs = np.random.RandomState(seed)
    images = rs.randint(0, 256, (n, rows, cols)).astype(np.uint8)
    labels = rs.randint(0, 10, n).astype(np.uint8)
    for prefix, k in (("train", n), ("t10k", n)):
        write_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz"), images)
        write_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz"), labels)
    return images, labels


def tiny_mnist_class(folder):
    """An MNIST subclass whose recorded SHA-1s are those of the synthetic files."""
    names = {k: f"{p}-{w}-idx{d}-ubyte.gz" for k, p, w, d in
             (("_train_data", "train", "images", 3), ("_train_label", "train", "labels", 1),
              ("_test_data", "t10k", "images", 3), ("_test_label", "t10k", "labels", 1))}
    attrs = {k: (v, sha1(os.path.join(folder, v))) for k, v in names.items()}
    return type("TinyMNIST", (MNIST,), attrs)


def cifar_batch(path, n, seed, coarse=False):
    rs = np.random.RandomState(seed)
    chw = rs.randint(0, 256, (n, 3, 32, 32)).astype(np.uint8)
    labels = rs.randint(0, 10, (n, 2 if coarse else 1)).astype(np.uint8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(np.concatenate([labels, chw.reshape(n, -1)], axis=1).tobytes())
    return chw.transpose(0, 2, 3, 1), labels


# --- Debian's Fashion-MNIST, as MXNet reads it -----------------------------------------------
@pytest.fixture(scope="module")
def fashion(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("fashion-mnist"))  # empty: the system copy is read
    return {"test": FashionMNIST(root=root, train=False),
            "train": FashionMNIST(root=root, train=True)}


@needs_fashion
@pytest.mark.parametrize("split", ["test", "train"])
def test_fashion_mnist_matches_mxnet(fashion, split):
    ref = INFO[f"fashion_{split}"]
    d = fashion[split]
    assert len(d) == ref["len"] == (60000 if split == "train" else 10000)
    x, y = d[0]
    assert [type(x).__name__, type(y).__name__] == ref["item_types"]
    assert [np.dtype(x.dtype).name, np.dtype(y.dtype).name] == ref["item_dtypes"]
    assert list(x.shape) == ref["item_shape"] == [28, 28, 1]
    xs, ys = d[0:9]
    assert list(xs.shape) == ref["slice_shape"]
    assert [type(xs).__name__, type(ys).__name__] == ref["slice_types"]
    assert ys.dtype == np.int32
    labels = d._label
    assert labels[:50].tolist() == ref["labels_head"]
    assert np.bincount(labels).tolist() == ref["label_counts"]
    assert labels.min() == 0 and labels.max() == 9
    assert int(x.asnumpy().astype(np.int64).sum()) == ref["first_image_sum"]
    assert int(d._data.asnumpy().astype(np.int64).sum()) == ref["pixel_sum"]


@needs_fashion
def test_fashion_mnist_from_system_folder_leaves_root_alone(tmp_path, monkeypatch):
    forbid_download(monkeypatch)
    root = tmp_path / "nowhere" / "fashion-mnist"
    d = FashionMNIST(root=str(root), train=False,
                     transform=lambda data, label: (data.astype("float32") / 255, label + 1))
    x, y = d[3]
    assert x.dtype == np.float32 and float(x.max().asscalar()) <= 1.0
    assert y == d._label[3] + 1
    assert not root.exists()


@needs_fashion
def test_fashion_mnist_with_data_loader(fashion):
    ds = fashion["test"].transform_first(transforms.ToTensor())
    loader = DataLoader(ds, batch_size=256, shuffle=False)
    data, label = next(iter(loader))
    assert data.shape == (256, 1, 28, 28) and data.dtype == np.float32
    assert label.shape == (256,)
    np.testing.assert_array_equal(label.asnumpy(), fashion["test"]._label[:256])
    np.testing.assert_allclose(data[5].asnumpy()[0],
                               fashion["test"][5][0].asnumpy()[:, :, 0] / 255.0, rtol=1e-6)


# --- synthetic MNIST: where files come from --------------------------------------------------
def test_mnist_from_root_with_matching_sha1(tmp_path, isolated, monkeypatch):
    root = tmp_path / "mnist"
    images, labels = mnist_files(str(root))
    forbid_download(monkeypatch)
    d = tiny_mnist_class(str(root))(root=str(root), train=True)
    assert len(d) == 7
    x, y = d[2]
    assert x.shape == (28, 28, 1) and x.dtype == np.uint8 and isinstance(y, np.int32)
    np.testing.assert_array_equal(x.asnumpy()[:, :, 0], images[2])
    xs, ys = d[1:4]
    assert xs.shape == (3, 28, 28, 1)
    np.testing.assert_array_equal(ys, labels[1:4].astype(np.int32))
    x[0, 0, 0] = 7  # items are writable views, as in MXNet
    assert d[2][0][0, 0, 0].asscalar() == 7


def test_mnist_from_system_folder_without_known_hash(tmp_path, isolated, monkeypatch):
    system = tmp_path / "system"
    images, labels = mnist_files(str(system / "mnist"), n=5, rows=6, cols=4)
    monkeypatch.setenv("GLUONLITE_DATASET_DIRS", str(system))
    forbid_download(monkeypatch)
    d = MNIST(root=str(tmp_path / "root"), train=False)
    assert len(d) == 5 and d[0][0].shape == (6, 4, 1)
    np.testing.assert_array_equal(d._label, labels)


def test_system_copy_with_wrong_content_is_ignored(tmp_path, isolated, monkeypatch):
    system = tmp_path / "system"
    mnist_files(str(system / "fashion-mnist"))
    monkeypatch.setenv("GLUONLITE_DATASET_DIRS", str(system))
    attempts = []

    def fake_download(url, path, sha1_hash):
        attempts.append(url)
        raise RuntimeError("offline")

    monkeypatch.setattr(datasets, "download", fake_download)
    with pytest.warns(UserWarning, match="does not match the published fashion-mnist"):
        with pytest.raises(RuntimeError, match="offline"):
            FashionMNIST(root=str(tmp_path / "root"), train=False)
    assert attempts and attempts[0].endswith(
        "127.0.0.1:9/gluon/dataset/fashion-mnist/t10k-labels-idx1-ubyte.gz")


def test_corrupt_system_file_warns_and_is_skipped(tmp_path, isolated, monkeypatch):
    system = tmp_path / "system" / "mnist"
    mnist_files(str(system))
    with gzip.open(system / "t10k-labels-idx1-ubyte.gz", "wb") as f:
        f.write(b"\x00\x00\x08\x03garbage")
    monkeypatch.setenv("GLUONLITE_DATASET_DIRS", str(tmp_path / "system"))
    monkeypatch.setattr(datasets, "download",
                        lambda *a, **k: (_ for _ in ()).throw(RuntimeError("offline")))
    with pytest.warns(UserWarning, match="not an idx file"):
        with pytest.raises(RuntimeError, match="offline"):
            MNIST(root=str(tmp_path / "root"), train=False)


def test_mnist_download_from_loopback_server(tmp_path, isolated, server, monkeypatch):
    served = server / "gluon" / "dataset" / "mnist"
    images, labels = mnist_files(str(served), n=4)
    cls = tiny_mnist_class(str(served))
    root = tmp_path / "home" / "datasets" / "mnist"
    d = cls(root=str(root), train=False)
    assert len(d) == 4
    np.testing.assert_array_equal(d[3][0].asnumpy()[:, :, 0], images[3])
    assert sorted(os.listdir(root)) == ["t10k-images-idx3-ubyte.gz",
                                        "t10k-labels-idx1-ubyte.gz"]
    # a second instance uses the downloaded copies
    forbid_download(monkeypatch)
    assert len(cls(root=str(root), train=False)) == 4


def test_root_copy_with_wrong_sha1_is_downloaded_again(tmp_path, isolated, server):
    served = server / "gluon" / "dataset" / "mnist"
    mnist_files(str(served), n=4, seed=1)
    cls = tiny_mnist_class(str(served))
    root = tmp_path / "root"
    mnist_files(str(root), n=6, seed=2)  # stale files of another content
    d = cls(root=str(root), train=True)
    assert len(d) == 4
    assert sha1(root / "train-images-idx3-ubyte.gz") == cls._train_data[1]


def test_download_with_wrong_hash_fails(tmp_path, isolated, server):
    mnist_files(str(server / "gluon" / "dataset" / "mnist"), n=3)
    with pytest.raises(UserWarning, match="content hash does not match"):
        MNIST(root=str(tmp_path / "root"), train=False)


def test_mnist_argument_errors(tmp_path, isolated):
    with pytest.raises(TypeError, match="train: expected True or False"):
        MNIST(root=str(tmp_path), train="yes")
    with pytest.raises(TypeError, match="transform: expected a callable"):
        MNIST(root=str(tmp_path), transform=3)
    with pytest.raises(TypeError, match="root: expected a folder path"):
        MNIST(root=5)


def test_mismatched_image_and_label_counts(tmp_path, isolated, monkeypatch):
    folder = tmp_path / "system" / "mnist"
    mnist_files(str(folder), n=5)
    write_idx(str(folder / "t10k-labels-idx1-ubyte.gz"), np.zeros(4, np.uint8))
    monkeypatch.setenv("GLUONLITE_DATASET_DIRS", str(tmp_path / "system"))
    with pytest.raises(ValueError, match="holds 5 images but t10k-labels-idx1-ubyte.gz holds 4"):
        MNIST(root=str(tmp_path / "root"), train=False)


# --- synthetic CIFAR -------------------------------------------------------------------------
def tiny_cifar10(folder, n_train=3, n_test=2):
    files = {}
    expected = {}
    for i in range(1, 6):
        name = f"data_batch_{i}.bin"
        expected[name] = cifar_batch(os.path.join(folder, name), n_train, i)
        files[name] = sha1(os.path.join(folder, name))
    expected["test_batch.bin"] = cifar_batch(os.path.join(folder, "test_batch.bin"), n_test, 9)
    files["test_batch.bin"] = sha1(os.path.join(folder, "test_batch.bin"))
    attrs = {"_train_data": [(f"data_batch_{i}.bin", files[f"data_batch_{i}.bin"])
                             for i in range(1, 6)],
             "_test_data": [("test_batch.bin", files["test_batch.bin"])]}
    return type("TinyCIFAR10", (CIFAR10,), attrs), expected


def test_cifar10_from_root(tmp_path, isolated, monkeypatch):
    root = tmp_path / "cifar10"
    cls, expected = tiny_cifar10(str(root))
    forbid_download(monkeypatch)
    train = cls(root=str(root))
    assert len(train) == 15
    x, y = train[4]
    assert x.shape == (32, 32, 3) and x.dtype == np.uint8 and isinstance(y, np.int32)
    imgs, labels = expected["data_batch_2.bin"]
    np.testing.assert_array_equal(x.asnumpy(), imgs[1])
    assert y == labels[1, 0]
    test = cls(root=str(root), train=False,
               transform=lambda d, l: (d.astype("float32"), int(l)))
    assert len(test) == 2 and test[1][0].dtype == np.float32 and isinstance(test[1][1], int)
    xs, ys = cls(root=str(root), train=False)[0:2]
    assert xs.shape == (2, 32, 32, 3) and ys.dtype == np.int32


def test_cifar10_archive_download_and_extraction(tmp_path, isolated, server):
    staging = tmp_path / "staging" / "cifar-10-batches-bin"
    cls, expected = tiny_cifar10(str(staging))
    archive = server / "gluon" / "dataset" / "cifar10" / "cifar-10-binary.tar.gz"
    archive.parent.mkdir(parents=True)
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(staging, arcname="cifar-10-batches-bin")
    cls._archive_file = ("cifar-10-binary.tar.gz", sha1(archive))
    root = tmp_path / "root"
    d = cls(root=str(root), train=False)
    assert len(d) == 2
    np.testing.assert_array_equal(d[1][0].asnumpy(), expected["test_batch.bin"][0][1])
    assert (root / "cifar-10-batches-bin" / "test_batch.bin").is_file()


def test_cifar_archive_escaping_root_is_refused(tmp_path, isolated, server):
    payload = tmp_path / "src" / "evil.bin"
    payload.parent.mkdir()
    payload.write_bytes(b"x" * 3073)
    archive = server / "gluon" / "dataset" / "cifar10" / "cifar-10-binary.tar.gz"
    archive.parent.mkdir(parents=True)
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(payload, arcname="../evil.bin")
    cls = type("Evil", (CIFAR10,), {"_archive_file": ("cifar-10-binary.tar.gz",
                                                      sha1(archive))})
    with pytest.raises(RuntimeError, match="refusing to extract"):
        cls(root=str(tmp_path / "root"), train=False)
    assert not (tmp_path / "evil.bin").exists()


def test_cifar100_labels_and_system_folder(tmp_path, isolated, monkeypatch):
    folder = tmp_path / "system" / "cifar100" / "cifar-100-binary"
    imgs, labels = cifar_batch(str(folder / "test.bin"), 4, 3, coarse=True)
    cifar_batch(str(folder / "train.bin"), 2, 4, coarse=True)
    monkeypatch.setenv("GLUONLITE_DATASET_DIRS", str(tmp_path / "system"))
    forbid_download(monkeypatch)
    coarse = CIFAR100(root=str(tmp_path / "root"), train=False)
    fine = CIFAR100(root=str(tmp_path / "root"), train=False, fine_label=True)
    np.testing.assert_array_equal(coarse._label, labels[:, 0])
    np.testing.assert_array_equal(fine._label, labels[:, 1])
    np.testing.assert_array_equal(fine[2][0].asnumpy(), imgs[2])
    assert len(CIFAR100(root=str(tmp_path / "root"))) == 2
    with pytest.raises(TypeError, match="fine_label"):
        CIFAR100(root=str(tmp_path / "root"), fine_label="yes")


def test_cifar_batch_of_wrong_size(tmp_path, isolated, monkeypatch):
    folder = tmp_path / "system" / "cifar100"
    folder.mkdir(parents=True)
    (folder / "test.bin").write_bytes(b"\x00" * 3075)
    monkeypatch.setenv("GLUONLITE_DATASET_DIRS", str(tmp_path / "system"))
    monkeypatch.setattr(datasets, "download",
                        lambda *a, **k: (_ for _ in ()).throw(RuntimeError("offline")))
    with pytest.raises(RuntimeError, match="offline"):
        CIFAR100(root=str(tmp_path / "root"), train=False)


# --- image folders and record files ----------------------------------------------------------
def rgb(seed, h=6, w=5):
    return np.random.RandomState(seed).randint(0, 256, (h, w, 3)).astype(np.uint8)


@needs_pillow
def test_image_folder_dataset(tmp_path):
    (tmp_path / "dog").mkdir()
    (tmp_path / "cat").mkdir()
    Image.fromarray(rgb(0)).save(tmp_path / "cat" / "b.png")
    Image.fromarray(rgb(1)).save(tmp_path / "cat" / "a.PNG")
    Image.fromarray(rgb(2)).save(tmp_path / "dog" / "c.jpg", quality=95)
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    (tmp_path / "README").write_text("stray file")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = ImageFolderDataset(str(tmp_path))
    messages = " ".join(str(w.message) for w in caught)
    assert "notes.txt" in messages and "README" in messages
    assert ds.synsets == ["cat", "dog"]
    assert [(os.path.basename(f), l) for f, l in ds.items] == [("a.PNG", 0), ("b.png", 0),
                                                              ("c.jpg", 1)]
    assert len(ds) == 3
    img, label = ds[1]
    assert label == 0 and img.dtype == np.uint8
    np.testing.assert_array_equal(img.asnumpy(), rgb(0))
    with pytest.warns(UserWarning, match="Ignoring"):
        gray = ImageFolderDataset(str(tmp_path), flag=0,
                                  transform=lambda d, l: (d.astype("float32"), l * 10))
    g, l = gray[2]
    assert g.shape == (6, 5, 1) and g.dtype == np.float32 and l == 10
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        ImageFolderDataset(str(tmp_path / "missing"))


@needs_pillow
def test_image_record_dataset(tmp_path):
    rec, idx = str(tmp_path / "data.rec"), str(tmp_path / "data.idx")
    writer = recordio.MXIndexedRecordIO(idx, rec, "w")
    for i in range(3):
        buf = io.BytesIO()
        Image.fromarray(rgb(i)).save(buf, format="PNG")
        header = recordio.IRHeader(0, float(i * 2), i, 0)
        writer.write_idx(i, recordio.pack(header, buf.getvalue()))
    writer.close()
    ds = ImageRecordDataset(rec)
    assert len(ds) == 3
    img, label = ds[2]
    assert label == 4.0
    np.testing.assert_array_equal(img.asnumpy(), rgb(2))
    gray = ImageRecordDataset(rec, flag=0, transform=lambda d, l: (d.shape, l + 1))
    assert gray[1] == ((6, 5, 1), 3.0)
    with pytest.raises(TypeError, match="transform"):
        ImageRecordDataset(rec, transform="no")
