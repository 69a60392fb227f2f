"""summary(): layer table, totals, multiply-adds by the formula."""

import pytest

import shendu
from shendu.models import get_model, lenet, summary


def conv_macs(c_in, c_out, k, out_side):
    """Each of the C_out·OH·OW outputs is a dot product of length C_in·k·k."""
    return c_out * out_side * out_side * c_in * k * k


def test_lenet_totals_by_hand():
    s = summary(lenet(), input_size=(1, 28, 28))
    params = (1 * 5 * 5 + 1) * 20 + (20 * 5 * 5 + 1) * 50 + (50 * 4 * 4 + 1) * 500 + (500 + 1) * 10
    macs = conv_macs(1, 20, 5, 24) + conv_macs(20, 50, 5, 8) + 800 * 500 + 500 * 10
    assert s.total_params == s.trainable_params == params == 431_080
    assert s.total_mult_adds == macs == 2_293_000
    by_name = {l.name: l for l in s.layers}
    assert by_name["features.0"].output_shape == [1, 20, 24, 24] and by_name["features.0"].params == 520
    assert by_name["features.1"].output_shape == [1, 20, 12, 12] and by_name["features.1"].mult_adds == 0
    assert by_name["features.3"].output_shape == [1, 50, 4, 4]
    assert by_name["classifier.0"].mult_adds == 400_000 and by_name["classifier.2"].output_shape == [1, 10]
    # containers come before their layers, one level deeper, and sum their multiply-adds
    names = [l.name for l in s.layers]
    assert names.index("features") < names.index("features.0")
    assert by_name["features"].depth == 0 and by_name["features.0"].depth == 1
    assert by_name["features"].mult_adds == conv_macs(1, 20, 5, 24) + conv_macs(20, 50, 5, 8)
    assert by_name["features"].params == 520 + 25_050


def test_batch_size_scales_mult_adds_not_params():
    s = summary(lenet(), input_size=(1, 28, 28), batch_size=4)
    assert s.total_mult_adds == 4 * 2_293_000 and s.total_params == 431_080
    assert s.input_shape == (4, 1, 28, 28)


def test_table_text():
    text = str(summary(lenet(), (1, 28, 28)))
    assert "Total params: 431,080" in text
    assert "Total mult-adds (M): 2.29" in text
    assert "features.0 (Conv2d)" in text and "[1, 20, 24, 24]" in text


def test_resnet18_at_224_matches_torchinfo_figure():
    """torchinfo reports 1.81 G mult-adds for resnet18; here rebuilt layer by layer from the formula."""
    net = get_model("resnet18")
    s = summary(net, input_size=(3, 224, 224))
    macs = conv_macs(3, 64, 7, 112) + 4 * conv_macs(64, 64, 3, 56)
    for c_in, c, side in [(64, 128, 28), (128, 256, 14), (256, 512, 7)]:
        macs += conv_macs(c_in, c, 3, side) + 3 * conv_macs(c, c, 3, side) + conv_macs(c_in, c, 1, side)
    macs += 512 * 1000
    assert s.total_mult_adds == macs
    assert round(macs / 1e9, 2) == 1.81
    assert s.total_params == 11_689_512
    relu_calls = [l for l in s.layers if l.name == "layer1.0.relu"]
    assert (
        len(relu_calls) == 2 and relu_calls[1].params is None
    )  # a reused module: listed per call, counted once
    assert [l.output_shape for l in s.layers if l.name == "layer4"] == [[1, 512, 7, 7]]
    assert net.training  # summary restores the mode it found


def test_bad_input_size():
    with pytest.raises(ValueError, match="input_size"):
        summary(lenet(), input_size=(0, 28, 28))


def test_summary_leaves_no_hooks_and_no_grad():
    net = lenet()
    summary(net, (1, 28, 28))
    summary(net, (1, 28, 28))
    y = net(shendu.randn(1, 1, 28, 28))
    assert y.requires_grad  # grad mode restored
    assert all(not m._forward_hooks for m in net.modules())
