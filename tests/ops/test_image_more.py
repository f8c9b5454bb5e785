"""``nd.image`` geometric and colour operators: the standard operator checks (their MXNet
numbers are in tests/ops/test_contrib_more.py), the random ones' draws, and errors."""
import numpy as np
import pytest

import gluonlite as mx
from gluonlite import nd
from gluonlite.base import MXNetError

from .opcheck import check_op

RNG = np.random.RandomState(4)
IMG = RNG.uniform(0, 255, (4, 5, 3))


def test_deterministic_standard_checks():
    check_op("_image_flip_left_right", [IMG], expected=IMG[:, ::-1])
    check_op("_image_flip_top_bottom", [IMG], expected=IMG[::-1])
    check_op("_image_crop", [IMG], {"x": 1, "y": 2, "width": 3, "height": 2},
             expected=IMG[2:4, 1:4])
    g = RNG.randn(2, 3, 3)
    want = np.zeros_like(IMG)
    want[2:4, 1:4] = g
    check_op("_backward_image_crop", [g, IMG], {"x": 1, "y": 2, "width": 3, "height": 2},
             expected=want, grad_inputs=[0])
    check_op("_image_adjust_lighting", [IMG], {"alpha": (0.1, 0.0, -0.2)})
    check_op("_image_resize", [IMG], {"size": (3, 2)}, f32_atol=1e-3)


def test_random_ops_with_fixed_factor_are_the_kernels():
    x = IMG.astype(np.float32)
    for op in ("brightness", "contrast", "saturation", "hue"):
        fixed = getattr(nd.image, f"random_{op}")(nd.array(x), min_factor=1.3, max_factor=1.3)
        check_op(f"_image_random_{op}", [x], {"min_factor": 1.3, "max_factor": 1.3},
                 expected=fixed.asnumpy(), seed=1, check_float32=False)
    check_op("_image_random_lighting", [x], {"alpha_std": 0.0}, expected=x, seed=1)
    check_op("_image_random_color_jitter", [x], {"brightness": 0, "contrast": 0,
                                                   "saturation": 0, "hue": 0}, expected=x,
             seed=1)
    check_op("_image_random_flip_left_right", [x], seed=3)
    check_op("_image_random_flip_top_bottom", [x], seed=3)


def test_random_draws_are_seeded_and_vary():
    x = nd.array(IMG.astype(np.float32))
    mx.random.seed(7)
    a = [nd.image.random_brightness(x, min_factor=0.5, max_factor=1.5).asnumpy()
         for _ in range(4)]
    mx.random.seed(7)
    b = [nd.image.random_brightness(x, min_factor=0.5, max_factor=1.5).asnumpy()
         for _ in range(4)]
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    factors = [float((p / IMG.astype(np.float32)).mean()) for p in a]
    assert all(0.5 <= f <= 1.5 for f in factors) and len(set(factors)) > 1
    flips = {nd.image.random_flip_left_right(x).asnumpy()[0, 0, 0] for _ in range(30)}
    assert flips == {np.float32(IMG[0, 0, 0]), np.float32(IMG[0, -1, 0])}
    j = nd.image.random_color_jitter(x, brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1)
    assert j.shape == x.shape and not np.array_equal(j.asnumpy(), x.asnumpy())
    light = nd.image.random_lighting(x, alpha_std=0.1).asnumpy() - x.asnumpy()
    assert np.allclose(light, light[0, 0])  # one constant offset per channel


def test_flip_gradient_is_the_true_one():
    x = nd.array(IMG)
    x.attach_grad()
    g = RNG.randn(*IMG.shape)
    with mx.autograd.record():
        y = nd.image.flip_left_right(x)
    y.backward(nd.array(g))
    np.testing.assert_allclose(x.grad.asnumpy(), g[:, ::-1])


def test_symbolic_image_ops():
    d = mx.sym.var("d")
    y = mx.sym.image.resize(mx.sym.image.crop(d, x=0, y=0, width=4, height=4), size=2)
    assert y.infer_shape(d=(4, 5, 3))[1] == [(2, 2, 3)]
    ex = y.bind(mx.cpu(), {"d": nd.array(IMG.astype(np.float32))})
    want = nd.image.resize(nd.image.crop(nd.array(IMG.astype(np.float32)), x=0, y=0,
                                         width=4, height=4), size=2)
    np.testing.assert_allclose(ex.forward()[0].asnumpy(), want.asnumpy(), rtol=1e-6)


@pytest.mark.parametrize("call, match", [
    (lambda x: nd.image.flip_left_right(nd.zeros((2, 2, 2, 3))), "height, width, channels"),
    (lambda x: nd.image.crop(x, x=3, y=0, width=3, height=1), "does not fit"),
    (lambda x: nd.image.crop(x, x=0, y=0, width=0, height=1), "must be positive"),
    (lambda x: nd.image.resize(x, size=(1, 2, 3)), "1 or 2 elements"),
    (lambda x: nd.image.resize(x, size=2, interp=7), "interp must be"),
    (lambda x: nd.image.resize(x.astype("int32"), size=2), "dtype must be one of"),
    (lambda x: nd.image.adjust_lighting(x, alpha=(1, 2)), "3 elements"),
    (lambda x: nd.image.random_brightness(x, min_factor=2, max_factor=1), "min_factor"),
    (lambda x: nd.image.random_hue(nd.zeros((2, 2, 2)), min_factor=0, max_factor=1),
     "1 or 3 channels"),
    (lambda x: nd.image.random_color_jitter(x, brightness=-1, contrast=0, saturation=0,
                                            hue=0), "brightness must be non-negative"),
])
def test_errors(call, match):
    with pytest.raises(MXNetError, match=match):
        call(nd.array(IMG.astype(np.float32)))
