"""Gluon utilities (MXNet's ``gluon.utils``): splitting batches across devices, global
gradient-norm clipping, SHA-1 checks and file download."""
from __future__ import annotations

import hashlib
import numbers
import os
import urllib.error
import urllib.request
import warnings

import numpy as np

from .. import ndarray
from ..context import Context
from ..fileio import AtomicFile
from ..ndarray import NDArray
from .block import HookHandle  # noqa: F401  (MXNet exposes it here too)
from .parameter import shape_is_known  # noqa: F401

__all__ = ["split_data", "split_and_load", "clip_global_norm", "check_sha1", "download",
           "replace_file"]


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value}")
    return int(value)


def split_data(data, num_slice, batch_axis=0, even_split=True):
    """Split ``data`` into ``num_slice`` slices along ``batch_axis`` (for data parallelism:
    one slice per device).

    With ``even_split`` the axis length must be a multiple of ``num_slice``; otherwise the
    first ``length % num_slice`` slices get one extra element. Returns a list even when
    ``num_slice`` is 1. Slices along axis 0 are views of ``data``.
    """
    if not isinstance(data, NDArray):
        raise TypeError(f"data: expected an NDArray, got {type(data).__name__}")
    num_slice = _check_int("num_slice", num_slice, 1)
    batch_axis = _check_int("batch_axis", batch_axis, -data.ndim)
    if data.ndim == 0 or batch_axis >= data.ndim:
        raise ValueError(f"batch_axis: {batch_axis} is out of range for data with shape "
                         f"{data.shape}")
    batch_axis %= data.ndim
    size = data.shape[batch_axis]
    if even_split and size % num_slice != 0:
        raise ValueError(
            f"data with shape {data.shape} cannot be evenly split into {num_slice} slices "
            f"along axis {batch_axis}. Use a batch size that's multiple of {num_slice} or set "
            "even_split=False to allow uneven partitioning of data.")
    n_each, extras = divmod(size, num_slice)
    sizes = [0] + extras * [n_each + 1] + (num_slice - extras) * [n_each]
    div = np.cumsum(sizes)
    if batch_axis == 0:
        return [data[int(div[i]):int(div[i + 1])] for i in range(num_slice)]
    return [ndarray.slice_axis(data, axis=batch_axis, begin=int(div[i]), end=int(div[i + 1]))
            for i in range(num_slice)]


def split_and_load(data, ctx_list, batch_axis=0, even_split=True):
    """Split ``data`` along ``batch_axis`` into one slice per context in ``ctx_list`` and
    copy each slice to its context. ``data`` may be an NDArray or anything ``nd.array``
    accepts (it is then created on the first context)."""
    if isinstance(ctx_list, Context):
        raise TypeError("ctx_list: expected a list of Contexts, got a single Context; wrap it "
                        "in a list")
    ctx_list = list(ctx_list)
    if not ctx_list:
        raise ValueError("ctx_list: expected at least one Context, got an empty list")
    for i, c in enumerate(ctx_list):
        if not isinstance(c, Context):
            raise TypeError(f"ctx_list[{i}]: expected a Context, got {type(c).__name__}")
    if not isinstance(data, NDArray):
        data = ndarray.array(data, ctx=ctx_list[0])
    if len(ctx_list) == 1:
        return [data.as_in_context(ctx_list[0])]
    slices = split_data(data, len(ctx_list), batch_axis, even_split)
    return [s.as_in_context(ctx) for s, ctx in zip(slices, ctx_list)]


def clip_global_norm(arrays, max_norm, check_isfinite=True):
    """Rescale ``arrays`` in place so that their joint L2 norm is at most ``max_norm``.

    Every array is multiplied by ``min(1, max_norm / (total_norm + 1e-8))``. Returns the
    total norm before clipping: a float when ``check_isfinite`` (which also warns when it
    is NaN or infinite), else an NDArray of shape (1,).
    """
    if isinstance(arrays, NDArray):
        raise TypeError("arrays: expected a list of NDArrays, got a single NDArray; wrap it "
                        "in a list")
    arrays = list(arrays)
    if not arrays:
        raise ValueError("arrays: expected a non-empty list of NDArrays")
    for i, a in enumerate(arrays):
        if not isinstance(a, NDArray):
            raise TypeError(f"arrays[{i}]: expected an NDArray, got {type(a).__name__}")
    if isinstance(max_norm, bool) or not isinstance(max_norm, numbers.Real):
        raise TypeError(f"max_norm: expected a real number, got {type(max_norm).__name__}")
    ctx = arrays[0].context

    def _norm(array):
        x = array.reshape((-1,))
        return ndarray.dot(x, x)

    total_norm = ndarray.add_n(*[_norm(a).as_in_context(ctx) for a in arrays])
    total_norm = ndarray.sqrt(total_norm)
    if check_isfinite:
        if not np.isfinite(total_norm.asscalar()):
            warnings.warn(UserWarning("nan or inf is detected. Clipping results will be "
                                      "undefined."), stacklevel=2)
    scale = max_norm / (total_norm + 1e-8)
    scale = ndarray.min(ndarray.concat(scale, ndarray.ones(1, ctx=ctx, dtype=scale.dtype),
                                       dim=0))
    for a in arrays:
        a *= scale.as_in_context(a.context).astype(a.dtype, copy=False)
    if check_isfinite:
        return total_norm.asscalar()
    return total_norm


def check_sha1(filename, sha1_hash):
    """Whether the SHA-1 of ``filename``'s content is ``sha1_hash`` (hex digits)."""
    if not isinstance(sha1_hash, str):
        raise TypeError(f"sha1_hash: expected a hex string, got {type(sha1_hash).__name__}")
    sha1 = hashlib.sha1()
    with open(filename, "rb") as f:
        while True:
            chunk = f.read(1048576)
            if not chunk:
                break
            sha1.update(chunk)
    return sha1.hexdigest() == sha1_hash.lower()


def replace_file(src, dst):
    """Move ``src`` over ``dst`` atomically; on failure ``src`` is removed and OSError
    raised."""
    try:
        os.replace(src, dst)
    except OSError as e:
        try:
            os.remove(src)
        except OSError:
            pass
        raise OSError(f"Moving downloaded temp file - {src}, to {dst} failed. Please retry "
                      f"the download. ({e})") from e


def _fetch(url, out, verify_ssl, timeout):
    """Stream ``url`` into ``out`` (an ``AtomicFile``); raises on any failure or non-200
    status."""
    context = None
    if url.lower().startswith("https://") and not verify_ssl:
        import ssl
        context = ssl._create_unverified_context()
    with urllib.request.urlopen(url, timeout=timeout, context=context) as r:
        status = getattr(r, "status", None)
        if status is not None and url.lower().startswith(("http://", "https://")) \
                and status != 200:
            raise RuntimeError(f"Failed downloading url {url}")
        while True:
            chunk = r.read(1024 * 1024)
            if not chunk:
                break
            out.write(chunk)


def download(url, path=None, overwrite=False, sha1_hash=None, retries=5, verify_ssl=True,
             timeout=60):
    """Download ``url`` to a file and return its path (MXNet's ``gluon.utils.download``).

    Parameters
    ----------
    url : str
        The address (``http://``, ``https://``, ``ftp://`` or ``file://``).
    path : str, optional
        Destination file, or a directory to put it in; by default the current directory
        with the URL's last component as name.
    overwrite : bool, default False
        Download even if the file exists. An existing file is also replaced when
        ``sha1_hash`` is given and does not match.
    sha1_hash : str, optional
        Expected SHA-1 (hex) of the content; a download that does not match is retried,
        and the last mismatch raises ``UserWarning`` (MXNet's type).
    retries : int, default 5
        The number of attempts (as in MXNet, at least one is made).
    verify_ssl : bool, default True
        Verify HTTPS certificates (a warning is given when False).
    timeout : float, default 60
        Seconds to wait for the server in each attempt (not in MXNet, which waits forever).

    The file is written under a temporary name and renamed at the end, so an interrupted
    download never leaves a partial file behind.
    """
    if not isinstance(url, str):
        raise TypeError(f"url: expected a str, got {type(url).__name__}")
    if path is None:
        fname = url.split("/")[-1]
        if not fname:
            raise ValueError("Can't construct file-name from this URL. Please set the `path` "
                             "option manually.")
    else:
        path = os.path.expanduser(os.fspath(path))
        fname = os.path.join(path, url.split("/")[-1]) if os.path.isdir(path) else path
    retries = _check_int("retries", retries, 0)
    if sha1_hash is not None and not isinstance(sha1_hash, str):
        raise TypeError(f"sha1_hash: expected a hex string, got {type(sha1_hash).__name__}")
    if not verify_ssl:
        warnings.warn("Unverified HTTPS request is being made (verify_ssl=False). Adding "
                      "certificate verification is strongly advised.", stacklevel=2)

    if overwrite or not os.path.exists(fname) or (sha1_hash and
                                                  not check_sha1(fname, sha1_hash)):
        dirname = os.path.dirname(os.path.abspath(os.path.expanduser(fname)))
        os.makedirs(dirname, exist_ok=True)
        attempts_left = max(retries, 1)
        while True:
            out = None
            try:
                print(f"Downloading {fname} from {url}...")
                # a temporary file beside fname (O_EXCL, unpredictable name), fsynced and
                # renamed over it; leftovers of killed downloads are removed by the next one
                out = AtomicFile(fname, fn="download")
                _fetch(url, out, verify_ssl, timeout)
                # another process may have finished the same download meanwhile: keep its
                # file unless asked to overwrite (MXNet drops the new file even then)
                if overwrite or not os.path.exists(fname) or (
                        sha1_hash and not check_sha1(fname, sha1_hash)):
                    out.commit()
                else:
                    out.discard()
                    warnings.warn(f"File {fname} exists in file system so the downloaded "
                                  "file is deleted", stacklevel=2)
                if sha1_hash and not check_sha1(fname, sha1_hash):
                    raise UserWarning(
                        f"File {fname} is downloaded but the content hash does not match. "
                        "The repo may be outdated or download may be incomplete. If the "
                        '"repo_url" is overridden, consider switching to the default repo.')
                break
            except BaseException as e:
                if out is not None:
                    out.discard()
                if not isinstance(e, Exception):  # Ctrl-C: stop, leaving no temporary file
                    raise
                # other failures are retried, as MXNet does
                attempts_left -= 1
                if attempts_left <= 0:
                    raise
                print(f"download failed due to {e!r}, retrying, {attempts_left} attempt"
                      f"{'s' if attempts_left > 1 else ''} left")
    return fname


def _get_repo_url():
    """The base URL of the Gluon dataset/model repository (``MXNET_GLUON_REPO``)."""
    default_repo = "https://apache-mxnet.s3-accelerate.dualstack.amazonaws.com/"
    repo_url = os.environ.get("MXNET_GLUON_REPO", default_repo)
    if repo_url[-1] != "/":
        repo_url = repo_url + "/"
    return repo_url


def _get_repo_file_url(namespace, filename):
    """The URL of ``filename`` in ``namespace`` of the Gluon repository."""
    return f"{_get_repo_url()}{namespace}/{filename}"


def _brief_print_list(lst, limit=7):
    """At most ``limit`` elements of ``lst``, quoted and comma-separated."""
    lst = list(lst)
    if len(lst) > limit:
        return _brief_print_list(lst[:limit // 2], limit) + ", ..., " + \
            _brief_print_list(lst[-limit // 2:], limit)
    return ", ".join(f"'{i}'" for i in lst)
