"""mx.image: decoding, OpenCV resizing, crops and augmenters, checked against MXNet 1.9.1
(tests/fixtures/images/mxnet_image_ref.*, written by tests/fixtures/gen/image_mxnet.py)."""
import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest

import gluonlite as mx
from gluonlite import image, nd
from gluonlite.base import MXNetError
from gluonlite.image import _random as img_random
from gluonlite.image import _resize

from .conftest import FIXTURES

IMAGES = FIXTURES / "images"
REF = np.load(IMAGES / "mxnet_image_ref.npz")
INFO = json.loads((IMAGES / "mxnet_image_ref.json").read_text())
try:
    import PIL  # noqa: F401  (only whether Pillow is installed)
    HAVE_PIL = True
except ImportError:
    HAVE_PIL = False
needs_pillow = pytest.mark.skipif(not HAVE_PIL, reason="needs Pillow (pip install "
                                  "'gluonlite[image]')")


def src(name):
    a = REF["src_" + name]
    return nd.array(a, dtype=a.dtype)


def u3():
    return src("u3")


# --- import hygiene --------------------------------------------------------------------------
def test_import_does_not_need_pillow():
    code = ("import sys, gluonlite, gluonlite.image, gluonlite.gluon.data.vision\n"
            "assert 'PIL' not in sys.modules, 'PIL was imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_decoding_without_pillow_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r"gluonlite\[image\]"):
        image.imdecode((IMAGES / "rgb.png").read_bytes())


# --- decoding --------------------------------------------------------------------------------
@needs_pillow
@pytest.mark.parametrize("key", sorted(k for k in INFO if k.startswith("decode|")))
def test_imdecode_matches_mxnet(key):
    _, name, flag, rgb = key.split("|")
    shape, dtype, sha1 = INFO[key]
    img = image.imdecode((IMAGES / name).read_bytes(), flag=int(flag), to_rgb=bool(int(rgb)))
    a = img.asnumpy()
    assert isinstance(img, nd.NDArray) and list(a.shape) == shape and a.dtype.name == dtype
    assert hashlib.sha1(a.tobytes()).hexdigest() == sha1


@needs_pillow
def test_imread_and_imdecode_inputs(tmp_path):
    path = IMAGES / "rgb.png"
    buf = path.read_bytes()
    ref = image.imdecode(buf).asnumpy()
    np.testing.assert_array_equal(image.imread(str(path)).asnumpy(), ref)
    np.testing.assert_array_equal(image.imread(path, 0).asnumpy(),
                                  image.imdecode(buf, flag=0).asnumpy())
    np.testing.assert_array_equal(image.imdecode(bytearray(buf)).asnumpy(), ref)
    np.testing.assert_array_equal(image.imdecode(np.frombuffer(buf, np.uint8)).asnumpy(), ref)
    np.testing.assert_array_equal(
        image.imdecode(nd.array(np.frombuffer(buf, np.uint8), dtype="uint8")).asnumpy(), ref)
    bgr = image.imdecode(buf, to_rgb=False).asnumpy()
    np.testing.assert_array_equal(bgr, ref[:, :, ::-1])
    out = nd.zeros(ref.shape, dtype="uint8")
    assert image.imdecode(buf, out=out) is out
    np.testing.assert_array_equal(out.asnumpy(), ref)


@needs_pillow
def test_decode_errors(tmp_path):
    with pytest.raises(ValueError, match="buf must be of type bytes"):
        image.imdecode("not bytes")
    with pytest.raises(MXNetError, match="empty buffer"):
        image.imdecode(b"")
    with pytest.raises(ValueError, match="cannot decode"):
        image.imdecode(b"definitely not an image")
    with pytest.raises(MXNetError, match="flag"):
        image.imdecode((IMAGES / "rgb.png").read_bytes(), flag=-1)
    with pytest.raises(MXNetError, match="couldn't open file"):
        image.imread(str(tmp_path / "missing.jpg"))
    with pytest.raises(ValueError, match="has shape"):
        image.imdecode((IMAGES / "rgb.png").read_bytes(), out=nd.zeros((2, 2, 3)))


# --- resizing --------------------------------------------------------------------------------
@pytest.mark.parametrize("key", sorted(k for k in REF.files if k.startswith("imresize|")))
def test_imresize_matches_mxnet_bit_for_bit(key):
    _, name, w, h, interp = key.split("|")
    out = image.imresize(src(name), int(w), int(h), interp=int(interp))
    assert out.dtype == REF[key].dtype and out.shape == REF[key].shape
    np.testing.assert_array_equal(out.asnumpy(), REF[key])


def test_imresize_more_shapes_than_fixtures():
    """Different channel counts, dtypes and float64 go through the same code."""
    rs = np.random.RandomState(5)
    a = rs.randint(0, 256, (9, 14, 4)).astype(np.uint8)
    for interp in range(5):
        r = _resize.resize(a, 6, 20, interp)
        assert r.shape == (20, 6, 4) and r.dtype == np.uint8
        np.testing.assert_array_equal(r[..., :3], _resize.resize(a[..., :3].copy(), 6, 20,
                                                                 interp))
        f = _resize.resize(a.astype(np.float64), 6, 20, interp)
        assert f.dtype == np.float64
        # uint8 arithmetic is fixed point, float arithmetic exact: they agree to rounding
        assert np.abs(np.clip(f, 0, 255) - r).max() <= 1.0


def test_imresize_identity_and_out():
    x = u3()
    for interp in range(5):
        np.testing.assert_array_equal(image.imresize(x, 17, 13, interp).asnumpy(),
                                      x.asnumpy())
    out = nd.zeros((7, 5, 3), dtype="uint8")
    assert image.imresize(x, 5, 7, out=out) is out
    np.testing.assert_array_equal(out.asnumpy(), REF["imresize|u3|5|7|1"])


def test_imresize_errors():
    x = u3()
    with pytest.raises(AssertionError, match="must have NDArray type"):
        image.imresize(x.asnumpy(), 3, 3)
    with pytest.raises(MXNetError, match="height, width, channels"):
        image.imresize(nd.ones((4, 5), dtype="uint8"), 3, 3)
    with pytest.raises(MXNetError, match="Parameter w should be greater equal to 1"):
        image.imresize(x, 0, 3)
    with pytest.raises(MXNetError, match="Unknown interpolation"):
        image.imresize(x, 3, 3, interp=9)
    with pytest.raises(TypeError, match="int32"):
        image.imresize(x.astype("int32"), 3, 3)
    with pytest.raises(TypeError, match="h must be an int"):
        image.imresize(x, 3, 2.5)


def test_get_interp_method():
    from gluonlite.image.image import _get_interp_method
    assert _get_interp_method(9, (10, 10, 20, 20)) == 2
    assert _get_interp_method(9, (10, 10, 5, 5)) == 3
    assert _get_interp_method(9, (10, 10, 20, 5)) == 1
    assert _get_interp_method(9) == 2
    assert _get_interp_method(3) == 3
    draws = {_get_interp_method(10) for _ in range(200)}
    assert draws == {0, 1, 2, 3, 4}
    with pytest.raises(ValueError, match="Unknown interp method 7"):
        _get_interp_method(7)


# --- crops and friends -----------------------------------------------------------------------
def test_resize_short_and_crops_match_mxnet():
    x = u3()
    np.testing.assert_array_equal(image.resize_short(x, 6).asnumpy(), REF["resize_short|u3|6"])
    np.testing.assert_array_equal(image.resize_short(x, 20).asnumpy(),
                                  REF["resize_short|u3|20"])
    np.testing.assert_array_equal(image.resize_short(x, 20, interp=1).asnumpy(),
                                  REF["resize_short|u3|20|1"])
    for size in ("7,5", "30,20"):
        out, rect = image.center_crop(x, tuple(int(v) for v in size.split(",")))
        np.testing.assert_array_equal(out.asnumpy(), REF["center_crop|u3|" + size])
        assert list(rect) == INFO["center_crop|u3|" + size]
    np.testing.assert_array_equal(image.fixed_crop(x, 2, 3, 6, 5).asnumpy(),
                                  REF["fixed_crop|u3"])
    np.testing.assert_array_equal(image.fixed_crop(x, 2, 3, 6, 5, size=(9, 7)).asnumpy(),
                                  REF["fixed_crop|u3|size"])
    for t in range(5):
        np.testing.assert_array_equal(
            image.copyMakeBorder(x, 1, 2, 3, 4, type=t, values=(10, 20, 30)).asnumpy(),
            REF[f"copyMakeBorder|{t}"])
    assert list(image.scale_down((640, 480), (720, 120))) == INFO["scale_down"]


def test_color_normalize_in_place():
    x = u3().astype("float32")
    ref = (x.asnumpy() - [1, 2, 3]) / [2, 4, 8]
    out = image.color_normalize(x, nd.array([1, 2, 3]), nd.array([2, 4, 8]))
    assert out is x
    np.testing.assert_allclose(x.asnumpy(), ref, rtol=1e-6)
    y = u3().astype("float32")
    np.testing.assert_array_equal(image.color_normalize(y, None, None).asnumpy(),
                                  u3().asnumpy().astype(np.float32))


def test_random_crops_are_reproducible_and_in_bounds():
    x = u3()
    mx.random.seed(11)
    first = [image.random_crop(x, (5, 4)) for _ in range(20)]
    mx.random.seed(11)
    again = [image.random_crop(x, (5, 4)) for _ in range(20)]
    for (a, ra), (b, rb) in zip(first, again):
        assert ra == rb
        np.testing.assert_array_equal(a.asnumpy(), b.asnumpy())
    corners = set()
    for out, (x0, y0, w, h) in first:
        assert out.shape == (4, 5, 3) and (w, h) == (5, 4)
        assert 0 <= x0 <= 17 - 5 and 0 <= y0 <= 13 - 4
        np.testing.assert_array_equal(out.asnumpy(), x.asnumpy()[y0:y0 + 4, x0:x0 + 5])
        corners.add((x0, y0))
    assert len(corners) > 5
    for _ in range(20):
        out, (x0, y0, w, h) = image.random_size_crop(x, (6, 6), 0.3, (0.5, 2))
        assert out.shape == (6, 6, 3)
        assert 1 <= w <= 17 and 1 <= h <= 13 and x0 + w <= 17 and y0 + h <= 13
        assert 0.5 / 1.5 <= w / h <= 2 * 1.5
    # impossible areas fall back to the center crop
    out, rect = image.random_size_crop(x, (4, 4), (50.0, 60.0), (1, 1))
    assert rect == image.center_crop(x, (4, 4))[1]


def test_crop_argument_errors():
    x = u3()
    with pytest.raises(TypeError, match="center_crop: size"):
        image.center_crop(x, 5)
    with pytest.raises(ValueError, match="positive"):
        image.random_crop(x, (0, 3))
    with pytest.raises(MXNetError, match="height, width, channels"):
        image.center_crop(nd.ones((2, 4, 5, 3)), (2, 2))
    with pytest.raises(ValueError, match="ratio"):
        image.random_size_crop(x, (4, 4), 0.5, (2, 1))
    with pytest.raises(ValueError, match="area"):
        image.random_size_crop(x, (4, 4), (0.9, 0.1), (1, 2))
    with pytest.raises(TypeError, match="unexpected keyword"):
        image.random_size_crop(x, (4, 4), 0.5, (1, 2), bogus=1)
    with pytest.raises(ValueError, match="copyMakeBorder: type"):
        image.copyMakeBorder(x, 1, 1, 1, 1, type=7)
    with pytest.raises(ValueError, match="resize_short: size"):
        image.resize_short(x, 0)


# --- augmenters ------------------------------------------------------------------------------
def f3():
    return u3().astype("float32")


def test_deterministic_augmenters_match_mxnet():
    cases = {
        "ForceResizeAug": image.ForceResizeAug((9, 7)),
        "ResizeAug": image.ResizeAug(8),
        "CenterCropAug": image.CenterCropAug((7, 5)),
        "ColorNormalizeAug": image.ColorNormalizeAug(np.array([123.68, 116.28, 103.53]),
                                                     np.array([58.395, 57.12, 57.375])),
        "HorizontalFlipAug": image.HorizontalFlipAug(1.0),
        "RandomGrayAug": image.RandomGrayAug(1.0),
    }
    for name, aug in cases.items():
        np.testing.assert_allclose(aug(f3()).asnumpy(), REF["aug|" + name], rtol=1e-6,
                                   atol=1e-4, err_msg=name)
    out = image.CastAug()(u3())
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.asnumpy(), REF["aug|CastAug"])


@pytest.mark.parametrize("u", [-0.3, 0.2])
@pytest.mark.parametrize("cls", ["BrightnessJitterAug", "ContrastJitterAug",
                                 "SaturationJitterAug", "HueJitterAug"])
def test_jitter_augmenters_match_mxnet_for_a_given_draw(monkeypatch, cls, u):
    monkeypatch.setattr(img_random, "uniform", lambda a, b: u)
    out = getattr(image, cls)(0.5)(f3())
    np.testing.assert_allclose(out.asnumpy(), REF[f"aug|{cls}|{u}"], rtol=1e-5, atol=1e-3)


def test_lighting_augmenter_matches_mxnet_for_a_given_draw(monkeypatch):
    monkeypatch.setattr(img_random, "normal", lambda scale, size: np.array([0.3, -0.5, 0.8]))
    aug = image.CreateAugmenter((3, 7, 7), pca_noise=0.1)[-1]
    assert isinstance(aug, image.LightingAug)
    np.testing.assert_allclose(aug(f3()).asnumpy(), REF["aug|LightingAug"], rtol=1e-6,
                               atol=1e-4)


def test_dumps_match_mxnet():
    augs = image.CreateAugmenter((3, 224, 224), resize=256, rand_crop=True, rand_mirror=True,
                                 mean=True, std=True, brightness=0.1, contrast=0.2, hue=0.1,
                                 pca_noise=0.1, rand_gray=0.1)
    assert [a.dumps() for a in augs] == INFO["CreateAugmenter_dumps"]
    assert [a.dumps() for a in image.CreateAugmenter((3, 32, 28))] == \
        INFO["CreateAugmenter_default"]


def test_create_augmenter_pipeline_is_reproducible():
    augs = image.CreateAugmenter((3, 8, 8), resize=10, rand_crop=True, rand_resize=True,
                                 rand_mirror=True, mean=np.array([120.0, 110, 100]),
                                 std=np.array([50.0, 50, 50]), brightness=0.3, contrast=0.3,
                                 saturation=0.3, hue=0.2, pca_noise=0.1, rand_gray=0.3)

    def run():
        outs = []
        for _ in range(5):
            x = u3()
            for a in augs:
                x = a(x)
            outs.append(x.asnumpy())
        return outs

    mx.random.seed(3)
    a = run()
    mx.random.seed(3)
    b = run()
    for x, y in zip(a, b):
        assert x.shape == (8, 8, 3) and x.dtype == np.float32
        np.testing.assert_array_equal(x, y)
    assert not all(np.array_equal(a[0], x) for x in a[1:])


def test_random_order_and_flip_draw_from_the_generator():
    order = []

    class Tag(image.Augmenter):
        def __init__(self, i):
            super().__init__(i=i)
            self.i = i

        def __call__(self, src):
            order.append(self.i)
            return src

    aug = image.RandomOrderAug([Tag(i) for i in range(4)])
    seen = set()
    for _ in range(30):
        order.clear()
        aug(f3())
        assert sorted(order) == [0, 1, 2, 3]
        seen.add(tuple(order))
    assert len(seen) > 5
    flips = [not np.array_equal(image.HorizontalFlipAug(0.5)(f3()).asnumpy(), f3().asnumpy())
             for _ in range(60)]
    assert 10 < sum(flips) < 50
    assert image.SequentialAug([image.CastAug("float64")])(u3()).dtype == np.float64
    assert json.loads(Tag(3).dumps()) == ["tag", {"i": 3}]


def test_augmenter_argument_errors():
    with pytest.raises(ValueError, match="RandomCropAug: size"):
        image.RandomCropAug(200)
    with pytest.raises(ValueError, match="brightness must be in"):
        image.BrightnessJitterAug(-1)
    with pytest.raises(ValueError, match="p must be in"):
        image.HorizontalFlipAug(1.5)
    with pytest.raises(ValueError, match="eigval"):
        image.LightingAug(0.1, np.ones(2), np.eye(3))
    with pytest.raises(AssertionError, match="rand_resize"):
        image.CreateAugmenter((3, 8, 8), rand_resize=True)
    with pytest.raises(AssertionError, match="mean"):
        image.CreateAugmenter((3, 8, 8), mean=[1, 2, 3])
    with pytest.raises(ValueError, match="data_shape"):
        image.CreateAugmenter((8, 8))
    with pytest.raises(TypeError, match="unexpected keyword"):
        image.RandomSizedCropAug((4, 4), 0.5, (1, 2), bogus=3)
    with pytest.warns(DeprecationWarning, match="min_area"):
        aug = image.RandomSizedCropAug((4, 4), None, (1, 2), min_area=0.5)
    assert aug.area == 0.5


# --- the tutorials' augmentation snippets ----------------------------------------------------
@needs_pillow
def test_notes_augmentation_snippets(tmp_path):
    """The Gluon notes' image-augmentation chapter, on a generated JPEG."""
    from PIL import Image
    yy, xx = np.mgrid[0:240, 0:320]
    pixels = np.stack([xx % 256, yy, (xx + yy) % 256], axis=-1).astype(np.uint8)
    path = tmp_path / "cat1.jpg"
    Image.fromarray(pixels).save(path, quality=90)

    img = image.imdecode(open(path, "rb").read())
    assert img.shape == (240, 320, 3) and img.dtype == np.uint8

    def apply(img, aug, n=3):
        X = [aug(img.astype("float32")) for _ in range(n * n)]
        Y = nd.stack(*X).clip(0, 255) / 255
        return Y

    y = apply(img, image.HorizontalFlipAug(.5))
    assert y.shape == (9, 240, 320, 3)
    original = img.asnumpy().astype(np.float32) / 255
    flipped = original[:, ::-1]
    matches = [np.array_equal(y[i].asnumpy(), flipped) for i in range(9)]
    for i in range(9):
        assert matches[i] or np.array_equal(y[i].asnumpy(), original)
    assert 0 < sum(matches) < 9
    assert apply(img, image.RandomCropAug([200, 200])).shape == (9, 200, 200, 3)
    assert apply(img, image.RandomSizedCropAug((200, 200), .1, (.5, 2))).shape == \
        (9, 200, 200, 3)
    bright = apply(img, image.BrightnessJitterAug(.5))
    assert bright.shape == (9, 240, 320, 3)
    ratios = [float((bright[i].mean() / (img.astype("float32") / 255).mean()).asscalar())
              for i in range(9)]
    assert max(ratios) - min(ratios) > 0.05
    hue = apply(img, image.HueJitterAug(.5))
    assert hue.shape == (9, 240, 320, 3) and float(hue.min().asscalar()) >= 0
