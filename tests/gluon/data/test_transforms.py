"""gluon.data.vision.transforms against MXNet 1.9.1 (tests/fixtures/images/mxnet_image_ref.*,
written by tests/fixtures/gen/image_mxnet.py)."""
import json

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import autograd, nd
from gluonlite.base import MXNetError
from gluonlite.gluon import HybridBlock
from gluonlite.gluon.data.vision import transforms as T
from gluonlite.image import _color
from gluonlite.image import _random as img_random

from ...conftest import FIXTURES

IMAGES = FIXTURES / "images"
REF = np.load(IMAGES / "mxnet_image_ref.npz")
INFO = json.loads((IMAGES / "mxnet_image_ref.json").read_text())


def arr(key):
    a = REF[key]
    return nd.array(a, dtype=a.dtype)


def u3():
    return arr("src_u3")


def batch():
    a = REF["src_u3"]
    return nd.array(np.stack([a, a[::-1]]), dtype="uint8")


def same(out, key, **tol):
    ref = REF[key]
    assert isinstance(out, nd.NDArray)
    assert out.shape == ref.shape, (out.shape, ref.shape)
    assert np.dtype(out.dtype) == ref.dtype, (out.dtype, ref.dtype)
    if tol:
        np.testing.assert_allclose(out.asnumpy(), ref, **tol)
    else:
        np.testing.assert_array_equal(out.asnumpy(), ref)


# --- deterministic transforms, bit for bit ---------------------------------------------------
def test_to_tensor_matches_mxnet():
    same(T.ToTensor()(u3()), "ToTensor|u3")
    same(T.ToTensor()(batch()), "ToTensor|batch")
    same(T.ToTensor()(arr("src_f3")), "ToTensor|f3")
    assert T.ToTensor()(u3().astype("int32")).dtype == np.float32


def test_normalize_matches_mxnet():
    chw = T.ToTensor()(u3())
    same(T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))(chw), "Normalize|chw")
    same(T.Normalize(0.5, 0.25)(chw), "Normalize|scalar")
    same(T.Normalize((0.4, 0.5, 0.6), (0.2, 0.3, 0.4))(T.ToTensor()(batch())),
         "Normalize|batch")
    uint8_chw = nd.array(REF["src_u3"].transpose(2, 0, 1), dtype="uint8")
    same(T.Normalize(3, 2)(uint8_chw), "Normalize|uint8")


def test_normalize_is_differentiable():
    x = T.ToTensor()(u3())
    x.attach_grad()
    norm = T.Normalize((0.1, 0.2, 0.3), (0.5, 0.25, 2.0))
    with autograd.record():
        y = norm(x)
    y.backward()
    expected = np.broadcast_to(np.array([2.0, 4.0, 0.5], np.float32)[:, None, None], x.shape)
    np.testing.assert_allclose(x.grad.asnumpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("name,t", [
    ("Resize|9", T.Resize(9)), ("Resize|9keep", T.Resize(9, keep_ratio=True)),
    ("Resize|21x11", T.Resize((21, 11))), ("Resize|21x11|2", T.Resize((21, 11), interpolation=2)),
    ("Resize|8keep|3", T.Resize(8, keep_ratio=True, interpolation=3))])
def test_resize_matches_mxnet(name, t):
    same(t(u3()), name + "|u3")
    same(t(batch()), name + "|batch")


def test_resize_float_and_list_size():
    same(T.Resize(9, keep_ratio=True)(arr("src_f3")), "Resize|9keep|f3")
    same(T.Resize([21, 11])(u3()), "Resize|21x11|u3")
    tall = nd.ones((10, 4, 3), dtype="uint8")
    assert T.Resize(3, keep_ratio=True)(tall).shape == (7, 3, 3)


def test_crops_flips_cast_compose_match_mxnet():
    same(T.CenterCrop((7, 5))(u3()), "CenterCrop|(7,5)")
    same(T.CenterCrop(30)(u3()), "CenterCrop|30")
    same(T.CenterCrop((9, 20), interpolation=0)(u3()), "CenterCrop|(9,20)|0")
    same(T.CropResize(1, 2, 7, 5)(u3()), "CropResize|1,2,7,5")
    same(T.CropResize(1, 2, 7, 5)(batch()), "CropResize|batch")
    same(T.CropResize(1, 2, 7, 5, size=(11, 9), interpolation=1)(batch()), "CropResize|size")
    same(T.Cast("float16")(u3()), "Cast|float16")
    comp = T.Compose([T.Resize(9), T.CenterCrop(7), T.ToTensor(), T.Normalize(0.5, 0.2)])
    same(comp(u3()), "Compose|u3")
    assert repr(comp) == INFO["Compose_repr"]


def test_flips():
    x = u3()
    a = REF["src_u3"]
    lr_ref, tb_ref = a[:, ::-1], a[::-1]
    # MXNet's flip operators never write the middle column/row of an odd-sized image (it is
    # left uninitialised); everywhere else they agree with a plain flip.
    keep = np.ones(a.shape[1], bool)
    keep[a.shape[1] // 2] = False
    np.testing.assert_array_equal(REF["flip_lr"][:, keep], lr_ref[:, keep])
    keep = np.ones(a.shape[0], bool)
    keep[a.shape[0] // 2] = False
    np.testing.assert_array_equal(REF["flip_tb"][keep], tb_ref[keep])
    seen = set()
    for _ in range(40):
        lr = T.RandomFlipLeftRight()(x).asnumpy()
        tb = T.RandomFlipTopBottom()(x).asnumpy()
        assert np.array_equal(lr, lr_ref) or np.array_equal(lr, a)
        assert np.array_equal(tb, tb_ref) or np.array_equal(tb, a)
        seen.add((np.array_equal(lr, lr_ref), np.array_equal(tb, tb_ref)))
    assert len(seen) == 4


def test_compose_groups_hybrid_blocks_without_touching_the_list():
    ts = [T.ToTensor(), T.Normalize(0, 1), T.RandomResizedCrop(4), T.Cast()]
    comp = T.Compose(ts)
    assert len(ts) == 4
    kinds = [type(b).__name__ for b in comp]
    assert kinds == ["HybridSequential", "RandomResizedCrop", "Cast"]
    with pytest.raises(TypeError, match="every transform must be a Block"):
        T.Compose([T.ToTensor(), lambda x: x])


# --- colour transforms: MXNet's numbers for a given factor -----------------------------------
# MXNet's hue and lighting operators return without writing their output for 1-channel
# images (the result is uninitialised memory); gluonlite returns the image unchanged.
COLOR_KEYS = sorted(k for k in REF.files
                    if k.split("|")[0] in ("brightness", "contrast", "saturation", "hue",
                                           "lighting")
                    and not (k.split("|")[0] in ("hue", "lighting") and k.split("|")[1] == "g"))


def test_one_channel_hue_and_lighting_pass_through():
    g = REF["color_src|g"]
    np.testing.assert_array_equal(_color.hue(g, 0.3), g)
    np.testing.assert_array_equal(_color.lighting(g, [1, 2, 3]), g)
    np.testing.assert_array_equal(_color.saturation(g, 0.3), g)


@pytest.mark.parametrize("key", COLOR_KEYS)
def test_color_kernels_match_mxnet(key):
    op, img, factor = key.split("|")
    src = REF["color_src|" + img]
    if op == "lighting":
        out = _color.lighting(src, [float(v) for v in factor.split(",")])
    else:
        out = getattr(_color, op)(src, float(factor))
    assert out.dtype == REF[key].dtype
    np.testing.assert_array_equal(out, REF[key])


@pytest.mark.parametrize("cls,op", [(T.RandomBrightness, "brightness"),
                                    (T.RandomContrast, "contrast"),
                                    (T.RandomSaturation, "saturation"), (T.RandomHue, "hue")])
def test_random_color_transforms_use_mxnet_ranges(monkeypatch, cls, op):
    calls = []

    def fake_uniform(lo, hi):
        calls.append((lo, hi))
        return 0.77 if op != "hue" else 0.9

    monkeypatch.setattr(img_random, "uniform", fake_uniform)
    factor = "0.77" if op != "hue" else "0.9"
    for img in ("u", "f", "g") if op != "hue" else ("u", "f"):
        same(cls(0.4)(arr("color_src|" + img)), f"{op}|{img}|{factor}")
    assert calls[0] == (pytest.approx(0.6), pytest.approx(1.4))
    assert cls(1.5)._args == (0, 2.5)


def test_random_lighting_and_jitter(monkeypatch):
    monkeypatch.setattr(img_random, "normal", lambda scale, size: np.array([0.1, -0.2, 0.05]))
    same(T.RandomLighting(0.1)(arr("color_src|u")), "lighting|u|0.1,-0.2,0.05")
    np.testing.assert_array_equal(T.RandomLighting(0.1)(arr("color_src|g")).asnumpy(),
                                  REF["color_src|g"])
    # jitter with only brightness set: one draw u, factor 1 + u
    monkeypatch.setattr(img_random, "uniform", lambda lo, hi: 0.6)
    same(T.RandomColorJitter(brightness=0.7)(arr("color_src|u")), "brightness|u|1.6")
    monkeypatch.setattr(img_random, "uniform", lambda lo, hi: 0.1)
    same(T.RandomColorJitter(hue=0.2)(arr("color_src|f")), "hue|f|0.1")


def test_random_transforms_are_reproducible_under_seed():
    pipeline = T.Compose([T.RandomResizedCrop(8, scale=(0.3, 1.0)), T.RandomFlipLeftRight(),
                          T.RandomFlipTopBottom(),
                          T.RandomColorJitter(0.4, 0.4, 0.4, 0.2), T.RandomLighting(0.1),
                          T.RandomBrightness(0.3), T.RandomContrast(0.3),
                          T.RandomSaturation(0.3), T.RandomHue(0.2), T.ToTensor()])

    def run():
        return [pipeline(u3()).asnumpy() for _ in range(6)]

    mx.random.seed(123)
    a = run()
    mx.random.seed(123)
    b = run()
    for x, y in zip(a, b):
        assert x.shape == (3, 8, 8) and x.dtype == np.float32
        np.testing.assert_array_equal(x, y)
    assert not all(np.array_equal(a[0], x) for x in a[1:])


def test_random_apply():
    ra = T.RandomApply(T.Cast("float64"), p=0.5)
    dtypes = {ra(u3()).dtype for _ in range(40)}
    assert dtypes == {np.uint8, np.float64}
    assert T.RandomApply(T.Cast("float64"), p=1.0)(u3()).dtype == np.float64
    assert T.RandomApply(T.Cast("float64"), p=0.0)(u3()).dtype == np.uint8
    with pytest.raises(ValueError, match="p must be in"):
        T.RandomApply(T.Cast(), p=2)
    with pytest.raises(TypeError, match="must be a Block"):
        T.RandomApply(lambda x: x)


def test_notes_transform_snippets():
    """The d2l image-augmentation chapter's transforms on a uint8 image."""
    rs = np.random.RandomState(0)
    img = nd.array(rs.randint(0, 256, (60, 80, 3)), dtype="uint8")
    shape_aug = T.RandomResizedCrop((40, 30), scale=(0.1, 1), ratio=(0.5, 2))
    color_aug = T.RandomColorJitter(brightness=0.5, contrast=0.5, saturation=0.5, hue=0.5)
    augs = T.Compose([T.RandomFlipLeftRight(), color_aug, shape_aug])
    for aug in (T.RandomFlipLeftRight(), T.RandomFlipTopBottom(), T.RandomBrightness(0.5),
                T.RandomHue(0.5), color_aug):
        out = aug(img)
        assert out.shape == img.shape and out.dtype == np.uint8
    assert shape_aug(img).shape == (30, 40, 3)
    assert augs(img).shape == (30, 40, 3)
    train = T.Compose([T.RandomFlipLeftRight(), T.ToTensor()])
    assert train(img).shape == (3, 60, 80)


# --- errors ----------------------------------------------------------------------------------
def test_shape_and_argument_errors():
    img = u3()
    with pytest.raises(MXNetError, match=r"\(height, width, channels\), or \(N"):
        T.ToTensor()(nd.ones((4, 5), dtype="uint8"))
    with pytest.raises(MXNetError, match="first dimension of input tensor must be the channel"):
        T.Normalize(0, 1)(nd.ones((4, 5, 3)))
    with pytest.raises(MXNetError, match="mean must have either 1 or 3 elements"):
        T.Normalize((1, 2), 1)(nd.ones((3, 4, 5)))
    with pytest.raises(ValueError, match="std must be non-zero"):
        T.Normalize(0, (1, 0, 1))
    with pytest.raises(TypeError, match="mean must be a number"):
        T.Normalize("a", 1)
    with pytest.raises(ValueError, match="Input size should be greater than 0"):
        T.Resize(0)
    with pytest.raises(ValueError, match="size must be"):
        T.Resize((3, 3, 3))
    with pytest.raises(ValueError, match="interpolation"):
        T.Resize(4, interpolation=9)
    with pytest.raises(MXNetError, match="dimension should be 3 or 4"):
        T.Resize(3)(nd.ones((4, 5), dtype="uint8"))
    with pytest.raises(TypeError, match="int32"):
        T.Resize(3)(img.astype("int32"))
    with pytest.raises(MXNetError, match=r"Input image must have shape \(height, width"):
        T.RandomBrightness(0.1)(batch())
    with pytest.raises(MXNetError, match="either 1 or 3 elements"):
        T.RandomContrast(0.1)(nd.ones((4, 5, 2), dtype="uint8"))
    with pytest.raises(MXNetError, match=r"Input image must have shape \(height, width"):
        T.RandomFlipLeftRight()(batch())
    with pytest.raises(ValueError, match="brightness must be >= 0"):
        T.RandomBrightness(-0.5)
    with pytest.raises(MXNetError, match="x \\+ width should not be greater"):
        T.CropResize(15, 1, 3, 2)(img)
    with pytest.raises(ValueError, match="greater than 0"):
        T.CropResize(1, 1, 0, 2)
    with pytest.raises(ValueError, match="x and y must be >= 0"):
        T.CropResize(-1, 1, 2, 2)
    with pytest.raises(MXNetError, match="height, width, channels"):
        T.CenterCrop(4)(batch())


def test_host_transforms_refuse_symbols():
    x = mx.sym.var("data")
    for t in (T.Resize(4), T.RandomBrightness(0.1), T.RandomFlipLeftRight()):
        assert isinstance(t, HybridBlock)
        with pytest.raises(MXNetError, match="cannot be traced into a symbolic graph"):
            t(x)


def test_to_tensor_and_normalize_hybridize_as_in_mxnet():
    x = mx.sym.var("data")
    assert isinstance(T.ToTensor()(x), mx.sym.Symbol)
    assert isinstance(T.Normalize(0.5, 0.2)(x), mx.sym.Symbol)
    img = u3()
    for batch in (img, nd.stack(img, img)):
        ref = T.Normalize((0.5, 0.4, 0.3), (0.2, 0.3, 0.4))(T.ToTensor()(batch))
        t = T.Compose([T.ToTensor(), T.Normalize((0.5, 0.4, 0.3), (0.2, 0.3, 0.4))])
        group = t[0]
        assert isinstance(group, mx.gluon.nn.HybridSequential) and group._active
        np.testing.assert_allclose(t(batch).asnumpy(), ref.asnumpy(), rtol=1e-6)
    # a group holding a host transform stays imperative (and works)
    t = T.Compose([T.Resize(4), T.ToTensor()])
    assert not t[0]._active
    assert t(img).shape == (3, 4, 4)


@pytest.mark.gpu
def test_transforms_on_gpu_arrays_match_cpu():
    ctx = mx.gpu(0)
    x = u3().as_in_context(ctx)
    for t in (T.ToTensor(), T.Resize((9, 7)), T.CropResize(1, 2, 7, 5, size=(4, 4)),
              T.Compose([T.ToTensor(), T.Normalize(0.5, 0.25)])):
        out = t(x)
        assert out.context == ctx
        np.testing.assert_array_equal(out.asnumpy(), t(u3()).asnumpy())
    mx.random.seed(5)
    a = T.RandomColorJitter(0.3, 0.3, 0.3, 0.1)(x)
    mx.random.seed(5)
    b = T.RandomColorJitter(0.3, 0.3, 0.3, 0.1)(u3())
    assert a.context == ctx
    np.testing.assert_array_equal(a.asnumpy(), b.asnumpy())
    flipped = T.RandomFlipLeftRight()(x)
    assert flipped.context == ctx and flipped.shape == x.shape
