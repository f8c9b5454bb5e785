"""Image tensor operators: ``_image_to_tensor`` and ``_image_normalize`` (mx.nd.image)."""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd
from gluonlite.base import MXNetError

from .opcheck import check_op

R = np.random.RandomState(3)


def test_to_tensor_layouts_and_values():
    img = R.randint(0, 256, (4, 5, 3)).astype("uint8")
    check_op("_image_to_tensor", [img], expected=img.transpose(2, 0, 1) / 255.0,
             check_float32=False, rtol=1e-6)
    batch = R.randint(0, 256, (2, 4, 5, 1)).astype("float32")
    check_op("_image_to_tensor", [batch], expected=batch.transpose(0, 3, 1, 2) / 255.0,
             rtol=1e-6)
    out = nd.image.to_tensor(nd.array(img, dtype="uint8"))
    assert out.dtype == np.float32 and out.shape == (3, 4, 5)
    with pytest.raises(MXNetError, match="Input image must have shape"):
        nd.image.to_tensor(nd.ones((4, 5)))


@pytest.mark.parametrize("shape", [(3, 4, 5), (2, 3, 4, 5), (1, 4, 5)])
def test_normalize_per_channel_and_gradient(shape):
    x = R.standard_normal(shape)
    c = shape[0] if len(shape) == 3 else shape[1]
    mean = (0.5, 0.25, -1.0)[:c]
    std = (2.0, 0.5, 4.0)[:c]
    bshape = (c, 1, 1) if len(shape) == 3 else (1, c, 1, 1)
    check_op("_image_normalize", [x], {"mean": mean, "std": std},
             expected=lambda x: (x - np.reshape(mean, bshape)) / np.reshape(std, bshape))
    check_op("_image_normalize", [x], {"mean": 0.5, "std": 2.0},
             expected=lambda x: (x - 0.5) / 2.0)


def test_normalize_integers_truncate_and_errors():
    x = np.array([[[10, 200]]], "uint8")
    out = nd.image.normalize(nd.array(x, dtype="uint8"), mean=(3,), std=(2,))
    assert out.dtype == np.uint8 and out.asnumpy().tolist() == [[[3, 98]]]
    with pytest.raises(MXNetError, match="channel dimension with either 1 or 3"):
        nd.image.normalize(nd.ones((2, 4, 4)))
    with pytest.raises(MXNetError, match="Invalid mean"):
        nd.image.normalize(nd.ones((3, 4, 4)), mean=(1, 2))
    with pytest.raises(MXNetError, match="std must be non-zero"):
        nd.image.normalize(nd.ones((1, 4, 4)), mean=(0,), std=(0,))
    # MXNet's defaults are 4-tuples, which no 1- or 3-channel input accepts (as in MXNet)
    with pytest.raises(MXNetError, match="Invalid mean"):
        nd.image.normalize(nd.ones((3, 4, 4)))
    assert isinstance(mx.sym.image.normalize(mx.sym.var("x"), mean=(1,)), mx.sym.Symbol)
