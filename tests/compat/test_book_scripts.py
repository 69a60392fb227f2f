"""Two more programs in the style PyTorch learners copy, each run from the same source text on
torch and on shendu with only the import lines switched: d2l's LeNet (``net.apply(init_weights)``,
CrossEntropyLoss, SGD over a DataLoader) and a hand-written linear-regression SGD loop in the
book's style (``param -= lr * param.grad / batch_size`` under ``no_grad``, ``param.grad.zero_()``).
Same data and initial weights (handed in by the harness), float64: losses within 1e-5."""

import numpy as np

TORCH = "import torch\nfrom torch import nn\nfrom torch.utils.data import DataLoader, TensorDataset\n"
SHENDU = (
    "import shendu as torch\nfrom shendu import nn\nfrom shendu.utils.data import DataLoader, TensorDataset\n"
)

LENET = """
net = nn.Sequential(
    nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(),
    nn.AvgPool2d(kernel_size=2, stride=2),
    nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),
    nn.AvgPool2d(kernel_size=2, stride=2),
    nn.Flatten(),
    nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
    nn.Linear(120, 84), nn.Sigmoid(),
    nn.Linear(84, 10)).double()

def init_weights(m):
    if type(m) == nn.Linear or type(m) == nn.Conv2d:
        nn.init.xavier_uniform_(m.weight)

net.apply(init_weights)
net.load_state_dict(INIT)  # the harness's common start, as a downloaded checkpoint would be
loader = DataLoader(TensorDataset(torch.tensor(X), torch.tensor(Y)), batch_size=16, shuffle=False)
optimizer = torch.optim.SGD(net.parameters(), lr=0.9)
loss = nn.CrossEntropyLoss()
losses = []
for epoch in range(2):
    net.train()
    for X_batch, y_batch in loader:
        optimizer.zero_grad()
        l = loss(net(X_batch), y_batch)
        l.backward()
        optimizer.step()
        losses.append(l.item())
net.eval()
with torch.no_grad():
    acc = (net(torch.tensor(X)).argmax(axis=1) == torch.tensor(Y)).float().mean().item()
"""

LINREG = """
def data_iter(batch_size, features, labels):
    num_examples = len(features)
    indices = list(range(num_examples))
    for i in range(0, num_examples, batch_size):
        batch_indices = torch.tensor(indices[i: min(i + batch_size, num_examples)])
        yield features[batch_indices], labels[batch_indices]

def linreg(X, w, b):
    return torch.matmul(X, w) + b

def squared_loss(y_hat, y):
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2

def sgd(params, lr, batch_size):
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()

features, labels = torch.tensor(X), torch.tensor(Y)
w = torch.tensor(W0, requires_grad=True)
b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
lr, batch_size, losses = 0.03, 10, []
for epoch in range(3):
    for X_b, y_b in data_iter(batch_size, features, labels):
        l = squared_loss(linreg(X_b, w, b), y_b)
        l.sum().backward()
        sgd([w, b], lr, batch_size)
    with torch.no_grad():
        losses.append(float(squared_loss(linreg(features, w, b), labels).mean()))
"""


def _run(imports, body, **given):
    ns = dict(given, __name__="compat_script")
    exec(compile(imports + body, "script.py", "exec"), ns)
    return ns


def test_d2l_lenet(torchvision_mnist_root):
    import gzip

    import torch

    import shendu

    raw = torchvision_mnist_root / "MNIST" / "raw"
    images = np.frombuffer(
        gzip.decompress((raw / "t10k-images-idx3-ubyte.gz").read_bytes()), np.uint8, 7840 * 8, 16
    )
    labels = np.frombuffer(gzip.decompress((raw / "t10k-labels-idx1-ubyte.gz").read_bytes()), np.uint8, 64, 8)
    X = images.reshape(-1, 1, 28, 28)[:64].astype(np.float64) / 255
    Y = labels[:64].astype(np.int64)
    torch.manual_seed(0)
    init = _run(TORCH, LENET.split("\ndef init_weights")[0] + "\n")["net"].state_dict()
    t = _run(TORCH, LENET, X=X, Y=Y, INIT=init)
    s = _run(SHENDU, LENET, X=X, Y=Y, INIT={k: shendu.tensor(v.numpy()) for k, v in init.items()})
    assert len(s["losses"]) == 8
    np.testing.assert_allclose(s["losses"], t["losses"], rtol=1e-5)
    assert s["acc"] == t["acc"]


def test_hand_written_sgd_loop():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1000, 2))  # the book's synthetic data: y = Xw + b + noise
    Y = X @ np.array([[2.0], [-3.4]]) + 4.2 + 0.01 * rng.standard_normal((1000, 1))
    W0 = rng.normal(0, 0.01, (2, 1))
    t = _run(TORCH, LINREG, X=X, Y=Y, W0=W0)
    s = _run(SHENDU, LINREG, X=X, Y=Y, W0=W0)
    np.testing.assert_allclose(s["losses"], t["losses"], rtol=1e-5)
    assert s["losses"][-1] < 1e-3 < s["losses"][0]
    np.testing.assert_allclose(s["w"].detach().numpy(), t["w"].detach().numpy(), rtol=1e-5)
