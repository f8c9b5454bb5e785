"""Pretrained model files in MXNet's cache layout (MXNet 1.9.1's ``model_zoo.model_store``).

A pretrained model ``name`` lives at ``<root>/<name>-<first 8 hex digits of its sha1>.params``
with ``root`` defaulting to ``$MXNET_HOME/models`` (``~/.mxnet/models``) — the files MXNet
itself downloads, so an existing MXNet cache is used as it is. gluonlite never downloads:
when the file is missing, the error names the file, the directory and the URL MXNet would
have fetched it from. The zip from that URL may be placed in ``root`` as it is; it is
unpacked on first use. Every file is checked against MXNet's published sha1 before use.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile

from ...base import FileFormatError
from ..utils import check_sha1, replace_file

__all__ = ["get_model_file", "purge", "short_hash", "data_dir"]

# MXNet 1.9.1's table (python/mxnet/gluon/model_zoo/model_store.py), sha1 of each .params.
_model_sha1 = {name: checksum for checksum, name in [
    ('44335d1f0046b328243b32a26a4fbd62d9057b45', 'alexnet'),
    ('f27dbf2dbd5ce9a80b102d89c7483342cd33cb31', 'densenet121'),
    ('b6c8a95717e3e761bd88d145f4d0a214aaa515dc', 'densenet161'),
    ('2603f878403c6aa5a71a124c4a3307143d6820e9', 'densenet169'),
    ('1cdbc116bc3a1b65832b18cf53e1cb8e7da017eb', 'densenet201'),
    ('ed47ec45a937b656fcc94dabde85495bbef5ba1f', 'inceptionv3'),
    ('9f83e440996887baf91a6aff1cccc1c903a64274', 'mobilenet0.25'),
    ('8e9d539cc66aa5efa71c4b6af983b936ab8701c3', 'mobilenet0.5'),
    ('529b2c7f4934e6cb851155b22c96c9ab0a7c4dc2', 'mobilenet0.75'),
    ('6b8c5106c730e8750bcd82ceb75220a3351157cd', 'mobilenet1.0'),
    ('36da4ff1867abccd32b29592d79fc753bca5a215', 'mobilenetv2_1.0'),
    ('e2be7b72a79fe4a750d1dd415afedf01c3ea818d', 'mobilenetv2_0.75'),
    ('aabd26cd335379fcb72ae6c8fac45a70eab11785', 'mobilenetv2_0.5'),
    ('ae8f9392789b04822cbb1d98c27283fc5f8aa0a7', 'mobilenetv2_0.25'),
    ('a0666292f0a30ff61f857b0b66efc0228eb6a54b', 'resnet18_v1'),
    ('48216ba99a8b1005d75c0f3a0c422301a0473233', 'resnet34_v1'),
    ('0aee57f96768c0a2d5b23a6ec91eb08dfb0a45ce', 'resnet50_v1'),
    ('d988c13d6159779e907140a638c56f229634cb02', 'resnet101_v1'),
    ('671c637a14387ab9e2654eafd0d493d86b1c8579', 'resnet152_v1'),
    ('a81db45fd7b7a2d12ab97cd88ef0a5ac48b8f657', 'resnet18_v2'),
    ('9d6b80bbc35169de6b6edecffdd6047c56fdd322', 'resnet34_v2'),
    ('ecdde35339c1aadbec4f547857078e734a76fb49', 'resnet50_v2'),
    ('18e93e4f48947e002547f50eabbcc9c83e516aa6', 'resnet101_v2'),
    ('f2695542de38cf7e71ed58f02893d82bb409415e', 'resnet152_v2'),
    ('264ba4970a0cc87a4f15c96e25246a1307caf523', 'squeezenet1.0'),
    ('33ba0f93753c83d86e1eb397f38a667eaf2e9376', 'squeezenet1.1'),
    ('dd221b160977f36a53f464cb54648d227c707a05', 'vgg11'),
    ('ee79a8098a91fbe05b7a973fed2017a6117723a8', 'vgg11_bn'),
    ('6bc5de58a05a5e2e7f493e2d75a580d83efde38c', 'vgg13'),
    ('7d97a06c3c7a1aecc88b6e7385c2b373a249e95e', 'vgg13_bn'),
    ('e660d4569ccb679ec68f1fd3cce07a387252a90a', 'vgg16'),
    ('7f01cf050d357127a73826045c245041b0df7363', 'vgg16_bn'),
    ('ad2f660d101905472b83590b59708b71ea22b2e5', 'vgg19'),
    ('f360b758e856f1074a85abd5fd873ed1d98297c3', 'vgg19_bn')]}

apache_repo_url = 'https://apache-mxnet.s3-accelerate.dualstack.amazonaws.com/'
_url_format = '{repo_url}gluon/models/{file_name}.zip'


def data_dir():
    """MXNet's data directory: ``$MXNET_HOME`` if set, else ``~/.mxnet``."""
    return os.getenv("MXNET_HOME", os.path.join(os.path.expanduser("~"), ".mxnet"))


def _root(root):
    if root is None:
        return os.path.join(data_dir(), "models")
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root: expected a directory path (str), got {type(root).__name__}")
    return os.path.expanduser(os.fspath(root))


def short_hash(name):
    """The first 8 hex digits of pretrained model ``name``'s sha1 (its file-name suffix)."""
    if name not in _model_sha1:
        raise ValueError(f"Pretrained model for {name} is not available. Models with "
                         f"pretrained weights: {', '.join(sorted(_model_sha1))}.")
    return _model_sha1[name][:8]


def _sha1_of(path):
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _unpack_zip(zip_path, file_name, file_path, root):
    """Extract ``file_name`` from MXNet's download zip into ``file_path`` atomically."""
    member = file_name + ".params"
    try:
        with zipfile.ZipFile(zip_path) as zf:
            if member not in zf.namelist():
                raise FileFormatError(f"Model zip '{zip_path}' does not contain '{member}' "
                                      f"(it holds {zf.namelist()[:5]}).")
            tmp_dir = tempfile.mkdtemp(dir=root)
            try:
                zf.extract(member, tmp_dir)
                replace_file(os.path.join(tmp_dir, member), file_path)
            finally:
                shutil.rmtree(tmp_dir, ignore_errors=True)
    except zipfile.BadZipFile as e:
        raise FileFormatError(f"Model zip '{zip_path}' is not a valid zip file ({e}).") from e


def get_model_file(name, root=None):
    r"""Return the path of pretrained model ``name``'s parameter file, checked by sha1.

    Looks for ``<root>/<name>-<short hash>.params`` (MXNet's cache layout); if only MXNet's
    download ``<name>-<short hash>.zip`` is there, it is unpacked first. gluonlite does not
    download: a missing file raises ``FileNotFoundError`` naming the file to put where and
    the URL to get it from.

    Parameters
    ----------
    name : str
        Name of the model (a key of MXNet's model table, e.g. ``'resnet18_v1'``).
    root : str, default $MXNET_HOME/models
        Location for keeping the model parameters (``~`` is expanded).

    Returns
    -------
    file_path
        Path to the requested pretrained model file.

    Raises
    ------
    ValueError
        ``name`` has no pretrained weights.
    FileNotFoundError
        The file is not in ``root``.
    FileFormatError
        The file's sha1 is not MXNet's (corrupt, truncated or another model's file); the
        file is left in place.
    """
    file_name = f"{name}-{short_hash(name)}"
    root = _root(root)
    file_path = os.path.join(root, file_name + ".params")
    sha1_hash = _model_sha1[name]
    zip_path = os.path.join(root, file_name + ".zip")
    if not os.path.exists(file_path) and os.path.isfile(zip_path):
        _unpack_zip(zip_path, file_name, file_path, root)
    if not os.path.exists(file_path):
        repo_url = os.environ.get("MXNET_GLUON_REPO", apache_repo_url)
        if not repo_url.endswith("/"):
            repo_url += "/"
        url = _url_format.format(repo_url=repo_url, file_name=file_name)
        raise FileNotFoundError(
            f"Pretrained weights for '{name}' not found: expected the file '{file_path}'. "
            "gluonlite does not download. Get MXNet's file from "
            f"{url} (or copy '{file_name}.params' from an MXNet cache, ~/.mxnet/models), "
            f"and put '{file_name}.params' (or the zip itself) in '{root}' - or pass "
            "root=<directory holding it>.")
    if not check_sha1(file_path, sha1_hash):
        raise FileFormatError(
            f"Pretrained model file '{file_path}' has sha1 {_sha1_of(file_path)}, but "
            f"MXNet's '{name}' weights have sha1 {sha1_hash}: the file is corrupt, "
            "truncated or of another model. Replace it with MXNet's file.")
    return file_path


def purge(root=None):
    r"""Remove all pretrained model files (``*.params``) from ``root``.

    Parameters
    ----------
    root : str, default '$MXNET_HOME/models'
        Location for keeping the model parameters.
    """
    root = _root(root)
    for f in os.listdir(root):
        if f.endswith(".params"):
            os.remove(os.path.join(root, f))
