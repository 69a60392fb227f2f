"""PyTorch's official MNIST example, run twice from the same source text: once importing torch
(and a torchvision stand-in on torch), once with only the import lines switched to shendu.

Both start from the same weights (the harness hands the script ``INIT``, torch's initial state
dict, as a checkpoint would) and train in float64 on the same first 128 test images; dropout is
set to 0 (``P_DROP``) because the two libraries draw different masks. Losses must agree within
1e-5 after every step, the evaluation (``pred.eq(target.view_as(pred)).sum().item()``) exactly,
and a checkpoint dict saved and loaded mid-way must resume to the same numbers.
"""

import numpy as np
import pytest

TORCH_IMPORTS = """
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, Subset
from tests.compat.torchvision_shim import datasets, transforms
"""

SHENDU_IMPORTS = """
import shendu as torch
import shendu.nn as nn
import shendu.nn.functional as F
import shendu.optim as optim
from shendu.optim.lr_scheduler import StepLR
from shendu.utils.data import DataLoader, Subset
from shendu.vision import datasets, transforms
"""

SCRIPT = """
class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(P_DROP)
        self.dropout2 = nn.Dropout(P_DROP)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def train(model, train_loader, optimizer, losses):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data = data.double()
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())


def test(model, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            output = model(data.double())
            test_loss += F.nll_loss(output, target, reduction='sum').item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    return test_loss / len(test_loader.dataset), correct


transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
dataset = datasets.MNIST(ROOT, train=False, transform=transform)
subset = Subset(dataset, range(128))
train_loader = DataLoader(subset, batch_size=32, shuffle=False)
test_loader = DataLoader(subset, batch_size=64)

model = Net().double()
model.load_state_dict(INIT)
optimizer = optim.Adadelta(model.parameters(), lr=1.0)
scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
losses = []
for epoch in range(1, 3):
    train(model, train_loader, optimizer, losses)
    scheduler.step()
checkpoint = {"epoch": 2, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
              "scheduler": scheduler.state_dict()}
torch.save(checkpoint, CKPT)

resumed = Net().double()
resumed_opt = optim.Adadelta(resumed.parameters(), lr=1.0)
resumed_sched = StepLR(resumed_opt, step_size=1, gamma=0.7)
state = torch.load(CKPT, weights_only=False)
resumed.load_state_dict(state["model"])
resumed_opt.load_state_dict(state["optimizer"])
resumed_sched.load_state_dict(state["scheduler"])
train(resumed, train_loader, resumed_opt, losses)
result = test(resumed, test_loader)
"""


def _run(imports, init, root, ckpt):
    namespace = {
        "INIT": init,
        "ROOT": str(root),
        "CKPT": str(ckpt),
        "P_DROP": 0.0,
        "__name__": "compat_script",
    }
    exec(compile(imports + SCRIPT, "mnist_example.py", "exec"), namespace)
    return namespace["losses"], namespace["result"]


def test_official_mnist_example_runs_on_shendu_with_only_imports_changed(torchvision_mnist_root, tmp_path):
    import torch

    import shendu

    torch.manual_seed(0)
    ns = {"P_DROP": 0.0, "__name__": "net"}
    exec(compile(TORCH_IMPORTS + SCRIPT.split("\ndef train")[0], "net.py", "exec"), ns)
    init_torch = {k: v.double() for k, v in ns["Net"]().state_dict().items()}
    init_shendu = {k: shendu.tensor(v.numpy()) for k, v in init_torch.items()}

    t_losses, (t_loss, t_correct) = _run(TORCH_IMPORTS, init_torch, torchvision_mnist_root, tmp_path / "t.pt")
    s_losses, (s_loss, s_correct) = _run(
        SHENDU_IMPORTS, init_shendu, torchvision_mnist_root, tmp_path / "s.pt"
    )
    assert len(s_losses) == len(t_losses) == 12  # 3 epochs of 4 batches, the third after resuming
    np.testing.assert_allclose(s_losses, t_losses, rtol=1e-5, atol=1e-7)
    assert s_losses[-1] < s_losses[0]  # it learns
    assert s_correct == t_correct and s_loss == pytest.approx(t_loss, rel=1e-5)
