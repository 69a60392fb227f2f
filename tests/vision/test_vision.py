"""shendu.vision against torchvision's documented behaviour (torchvision itself does not import
beside torch 2.13 here): on-disk layout, ToTensor -> float32 CHW in [0, 1], Normalize, transform
order, dataset lengths and first items; tensor resizing against torch's antialiased interpolate."""

import numpy as np
import pytest
import torch
from PIL import Image

import shendu
from shendu.utils.data import DataLoader
from shendu.vision import datasets, models, transforms as T, utils


@pytest.fixture
def pil_grey():
    return Image.fromarray(np.random.default_rng(1).integers(0, 256, (20, 30), dtype=np.uint8), mode="L")


@pytest.fixture
def pil_rgb():
    return Image.fromarray(np.random.default_rng(2).integers(0, 256, (12, 16, 3), dtype=np.uint8), mode="RGB")


def test_mnist_torchvision_layout_and_items(torchvision_mnist_root):
    ds = datasets.MNIST(str(torchvision_mnist_root), train=False, download=False)
    assert len(ds) == 10000
    assert ds.data.dtype == np.uint8 and ds.data.shape == (10000, 28, 28)
    assert ds.targets.dtype == np.int64 and ds.targets.numpy()[:5].tolist() == [7, 2, 1, 0, 4]
    img, label = ds[0]
    assert isinstance(img, Image.Image) and img.mode == "L" and img.size == (28, 28) and label == 7
    assert ds.class_to_idx["7 - seven"] == 7
    assert "Split: Test" in repr(ds) and "Number of datapoints: 10000" in repr(ds)
    with pytest.raises(RuntimeError, match="Dataset not found"):
        datasets.MNIST(str(torchvision_mnist_root), train=True, download=False)


def test_mnist_transform_order_and_loader(torchvision_mnist_root):
    tf = T.Compose([T.ToTensor(), T.Normalize((0.1307,), (0.3081,))])
    ds = datasets.MNIST(torchvision_mnist_root, train=False, transform=tf, target_transform=lambda y: y + 100)
    x, y = ds[3]
    raw = torch.from_numpy(ds.data.numpy()[3].copy()).float().div(255).unsqueeze(0)
    expected = (raw - 0.1307) / 0.3081
    assert x.dtype == np.float32 and x.shape == (1, 28, 28) and y == 100
    np.testing.assert_allclose(x.numpy(), expected.numpy(), rtol=1e-6, atol=1e-6)
    sub = shendu.utils.data.Subset(ds, range(10))
    xs, ys = next(iter(DataLoader(sub, batch_size=10, num_workers=2)))
    assert xs.shape == (10, 1, 28, 28) and xs.dtype == np.float32 and ys.dtype == np.int64
    assert ys.tolist() == (ds.targets.numpy()[:10] + 100).tolist()


def test_to_tensor_like_torchvision(pil_grey, pil_rgb):
    for img in (pil_grey, pil_rgb):
        x = T.ToTensor()(img)
        arr = np.asarray(img)
        hwc = torch.from_numpy(arr.copy()).reshape(arr.shape[0], arr.shape[1], -1)
        ref = hwc.permute(2, 0, 1).float() / 255
        assert x.dtype == np.float32 and x.shape == tuple(ref.shape)
        np.testing.assert_allclose(x.numpy(), ref.numpy(), rtol=0, atol=1e-7)
    hw = np.arange(6, dtype=np.float64).reshape(2, 3)
    assert T.ToTensor()(hw).dtype == np.float64 and T.ToTensor()(hw).numpy().max() == 5  # not rescaled
    pil = T.ToPILImage()(T.ToTensor()(pil_rgb))
    assert np.array_equal(np.asarray(pil), np.asarray(pil_rgb))
    assert T.PILToTensor()(pil_grey).dtype == np.uint8


def test_normalize_errors_and_channels(pil_rgb):
    x = T.ToTensor()(pil_rgb)
    out = T.Normalize([0.5, 0.4, 0.3], [0.2, 0.25, 0.5])(x)
    ref = (torch.from_numpy(x.numpy()) - torch.tensor([0.5, 0.4, 0.3])[:, None, None]) / torch.tensor(
        [0.2, 0.25, 0.5]
    )[:, None, None]
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-6)
    with pytest.raises(TypeError, match="float tensor"):
        T.Normalize(0.5, 0.5)(T.PILToTensor()(pil_rgb))
    with pytest.raises(ValueError, match="division by zero"):
        T.Normalize(0.5, 0.0)(x)
    with pytest.raises(TypeError, match="ToTensor first"):
        T.Normalize(0.5, 0.5)(pil_rgb)


def _same_on_pil_and_tensor(transform, img, seed=0):
    """Run ``transform`` on the PIL image and on its tensor with the same seed: same pixels."""
    shendu.manual_seed(seed)
    a = T.ToTensor()(transform(img)).numpy()
    shendu.manual_seed(seed)
    b = transform(T.PILToTensor()(img))
    return a, np.asarray(b).astype(np.float32) / 255


@pytest.mark.parametrize(
    "transform",
    [
        T.RandomCrop(10, padding=4),
        T.RandomCrop((8, 12), padding=(1, 2), padding_mode="reflect"),
        T.RandomCrop(40, pad_if_needed=True, fill=3),
        T.CenterCrop(9),
        T.CenterCrop((25, 35)),
        T.RandomHorizontalFlip(1.0),
        T.RandomVerticalFlip(1.0),
        T.Pad((1, 2, 3, 4), padding_mode="symmetric"),
        T.RandomRotation((90, 90)),
    ],
    ids=repr,
)
def test_geometry_same_on_pil_and_tensor(transform, pil_grey, pil_rgb):
    for img in (pil_grey, pil_rgb):
        a, b = _same_on_pil_and_tensor(transform, img, seed=3)
        assert a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def test_geometry_values(pil_grey):
    arr = np.asarray(pil_grey)
    x = T.PILToTensor()(pil_grey)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(x).numpy()[0], arr[:, ::-1])
    assert T.RandomHorizontalFlip(0.0)(x) is x
    top, left = int(round((20 - 9) / 2)), int(round((30 - 9) / 2))
    np.testing.assert_array_equal(T.CenterCrop(9)(x).numpy()[0], arr[top : top + 9, left : left + 9])
    sq = Image.fromarray(arr[:, :20])
    rot = np.asarray(T.RandomRotation((90, 90))(sq))
    np.testing.assert_array_equal(rot, np.rot90(arr[:, :20]))  # counter-clockwise, as torchvision
    crops = set()
    for seed in range(20):
        shendu.manual_seed(seed)
        crops.add(T.RandomCrop.get_params(x, (10, 10)))
    assert len(crops) > 5 and all(0 <= t <= 10 and 0 <= lf <= 20 for t, lf, _, _ in crops)
    with pytest.raises(ValueError, match="larger than input image size"):
        T.RandomCrop(50)(x)
    with pytest.raises(TypeError, match="PIL Image or a shendu Tensor"):
        T.RandomCrop(5)(arr)


def test_resize_like_torchvision():
    x = np.random.default_rng(0).random((2, 3, 20, 30)).astype(np.float32)
    for size, hw in ((10, (10, 15)), ((40, 50), (40, 50)), (24, (24, 36))):
        ours = T.Resize(size)(shendu.tensor(x)).numpy()
        ref = torch.nn.functional.interpolate(
            torch.from_numpy(x), size=hw, mode="bilinear", align_corners=False, antialias=True
        ).numpy()
        assert ours.shape == ref.shape
        np.testing.assert_allclose(ours, ref, atol=1e-5)
    img = Image.fromarray((x[0, 0] * 255).astype(np.uint8))
    assert T.Resize(10)(img).size == (15, 10)  # PIL size is (w, h); the shorter edge becomes 10
    assert T.Resize(10, max_size=12)(img).size == (12, 8)


def test_random_transforms_reproducible_and_varied(pil_grey):
    tf = T.Compose([T.RandomRotation(30), T.RandomCrop(16), T.ToTensor()])
    shendu.manual_seed(5)
    a = [tf(pil_grey).numpy() for _ in range(4)]
    shendu.manual_seed(5)
    b = [tf(pil_grey).numpy() for _ in range(4)]
    np.testing.assert_array_equal(np.stack(a), np.stack(b))
    assert not np.array_equal(a[0], a[1])


def test_make_grid_and_save_image(tmp_path):
    imgs = shendu.tensor(np.random.default_rng(0).random((5, 1, 4, 6)).astype(np.float32))
    grid = utils.make_grid(imgs, nrow=3, padding=2, pad_value=0.5).numpy()
    assert grid.shape == (3, 2 * (4 + 2) + 2, 3 * (6 + 2) + 2)
    np.testing.assert_array_equal(grid[1, 2:6, 2 + 8 : 8 + 8], imgs.numpy()[1, 0])  # tile 1, row 0
    np.testing.assert_array_equal(grid[0, 8:12, 2:8], imgs.numpy()[3, 0])  # tile 3 opens row 1
    assert (grid[:, 8:12, 2 * 8 + 2 :] == 0.5).all()  # the sixth place is empty
    norm = utils.make_grid(imgs * 4 - 1, normalize=True).numpy()
    assert norm.min() == 0 and norm.max() == 1
    single = utils.make_grid(imgs[0])
    assert single.shape == (3, 4, 6)
    path = tmp_path / "grid.png"
    utils.save_image(imgs, path, nrow=3)
    saved = np.asarray(Image.open(path))
    ref = np.clip(utils.make_grid(imgs, nrow=3).numpy() * 255 + 0.5, 0, 255).astype(np.uint8)
    ref = ref.transpose(1, 2, 0)
    np.testing.assert_array_equal(saved, ref)


def test_models_torchvision_keywords():
    net = models.resnet18(weights=None, num_classes=10)
    assert net.fc.out_features == 10
    g = models.googlenet(weights=None, init_weights=True, aux_logits=False, num_classes=5)
    assert g.fc.out_features == 5
    with pytest.raises(ValueError, match="pretrained"):
        models.vgg11(weights="IMAGENET1K_V1")
    shendu.manual_seed(0)
    own = models.vgg11(num_classes=3, small_input=True, in_channels=1)
    shendu.manual_seed(0)
    default = models.vgg11(num_classes=3, small_input=True, in_channels=1, init_weights=False)
    # torchvision's VGG init gives zero conv biases; PyTorch's per-layer default does not
    assert (own.features[0].bias.numpy() == 0).all() and not (default.features[0].bias.numpy() == 0).all()
