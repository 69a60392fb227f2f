"""Training on the stand-in GPU: optimisers, the Trainer and checkpoints give the CPU's run (to float32
rounding: the CPU's convolution is a channels-last kernel, the GPU's the plain im2col product), and
what they write is host arrays that load anywhere."""

from __future__ import annotations

import numpy as np
import pytest

import shendu
import shendu.nn.functional as F
from shendu import nn, optim
from shendu.data import DataLoader, TensorDataset
from shendu.models import get_model
from shendu.training import Trainer, predict
from tests.device.fake_cuda import FakeArray

pytestmark = pytest.mark.usefixtures("fake_cuda")


def _steps(device: str, make_opt, steps: int = 3) -> tuple[list[float], list[np.ndarray]]:
    shendu.manual_seed(0)
    net = get_model("lenet").to(device)
    opt = make_opt(net.parameters())
    rng = np.random.default_rng(0)
    losses = []
    for _ in range(steps):
        x = shendu.tensor(rng.standard_normal((4, 1, 28, 28)).astype(np.float32), device=device)
        y = shendu.tensor(rng.integers(0, 10, 4), device=device)
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, [p.cpu().numpy().copy() for p in net.parameters()]


@pytest.mark.parametrize(
    "make_opt",
    [
        lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
        lambda ps: optim.Adam(ps, lr=1e-3, amsgrad=True),
        lambda ps: optim.AdamW(ps, lr=1e-3),
        lambda ps: optim.RMSprop(ps, lr=1e-3, momentum=0.9, centered=True),
        lambda ps: optim.Adagrad(ps, lr=1e-2),
    ],
    ids=["sgd", "adam", "adamw", "rmsprop", "adagrad"],
)
def test_optimisers_step_on_the_device_as_on_the_cpu(make_opt):
    cpu_losses, cpu_params = _steps("cpu", make_opt)
    gpu_losses, gpu_params = _steps("cuda", make_opt)
    np.testing.assert_allclose(gpu_losses, cpu_losses, rtol=1e-5)
    for a, b in zip(gpu_params, cpu_params, strict=True):
        # adaptive steps (Adam, centred RMSprop) amplify float32 rounding where g ≈ 0: one lr at most
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3)


def test_optimiser_state_is_saved_as_host_arrays_and_restored_on_the_device():
    net = nn.Linear(3, 2).cuda()
    opt = optim.Adam(net.parameters(), lr=0.1)
    F.mse_loss(net(shendu.randn(4, 3, device="cuda")), shendu.zeros(4, 2, device="cuda")).backward()
    opt.step()
    assert isinstance(opt.state[net.weight]["exp_avg"], FakeArray)
    sd = opt.state_dict()
    assert all(
        isinstance(v, np.ndarray) for s in sd["state"].values() for v in s.values() if hasattr(v, "shape")
    )
    other = optim.Adam(net.parameters(), lr=0.1)
    other.load_state_dict(sd)
    assert isinstance(other.state[net.weight]["exp_avg"], FakeArray)
    cpu_net = nn.Linear(3, 2)
    cpu_opt = optim.Adam(cpu_net.parameters(), lr=0.1)
    cpu_opt.load_state_dict(sd)  # a GPU run's optimiser resumes on the CPU
    assert isinstance(cpu_opt.state[cpu_net.weight]["exp_avg"], np.ndarray)


def _data(n: int = 64):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 1, 28, 28)).astype(np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 0).astype(np.int64)
    return DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, seed=0)


def _fit(device, out=None, epochs=2):
    shendu.manual_seed(0)
    net = get_model("lenet", num_classes=2)
    opt = optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    trainer = Trainer(
        net, opt, _data(), val_loader=_data(32), epochs=epochs, progress=False, device=device, out_dir=out
    )
    return trainer, trainer.fit()


def test_trainer_moves_model_and_batches_and_matches_the_cpu_run():
    trainer, history = _fit("cuda")
    assert all(p.device.type == "cuda" for p in trainer.model.parameters())
    _, cpu_history = _fit(None)
    np.testing.assert_allclose(history["train_loss"], cpu_history["train_loss"], rtol=1e-4)
    np.testing.assert_allclose(history["val_acc"], cpu_history["val_acc"], atol=1 / 32)  # one image at most
    logits, labels = predict(trainer.model, _data(32))  # batches follow the model to the device
    assert isinstance(logits, np.ndarray) and isinstance(labels, np.ndarray) and logits.shape == (32, 2)


def test_a_gpu_checkpoint_resumes_on_the_cpu(tmp_path):
    _fit("cuda", out=tmp_path / "run", epochs=1)
    shendu.manual_seed(0)
    net = get_model("lenet", num_classes=2)
    opt = optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    resumed = Trainer(
        net, opt, _data(), val_loader=_data(32), epochs=2, progress=False, out_dir=tmp_path / "run"
    )
    history = resumed.fit(resume=True)
    assert all(p.device == shendu.device("cpu") for p in net.parameters())
    _, straight = _fit(None, epochs=2)
    np.testing.assert_allclose(history["train_loss"], straight["train_loss"], rtol=1e-4)
