"""`shendu summary` and `shendu convert-torch`."""

import argparse

import pytest
import torch

from shendu.cli.main import main
from shendu.cli.summary import parse_input


def test_parse_input():
    assert parse_input("3x224x224") == (3, 224, 224)
    assert parse_input("1×28×28") == (1, 28, 28)


@pytest.mark.parametrize(
    "text, message",
    [
        ("28x28", "three sizes"),  # was taken as 28 channels and failed inside the first convolution
        ("1x28x28x2", "three sizes"),
        ("3x224", "three sizes"),
        ("abc", "3x224x224"),
        ("3x0x5", "positive"),
    ],
)
def test_parse_input_rejects_bad_sizes(text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        parse_input(text)


def test_summary_bad_input_is_a_clear_error_not_a_traceback(capsys):
    with pytest.raises(SystemExit):
        main(["summary", "lenet", "--input", "28x28"])
    assert "channels x height x width" in capsys.readouterr().err
    # an input the network cannot take: one line naming the model, the input and the reason
    assert main(["summary", "lenet", "--input", "1x8x8"]) == 2
    err = capsys.readouterr().err
    assert "lenet on input 1x8x8" in err and "at least 16" in err


def test_summary_command(capsys):
    assert main(["summary", "lenet", "--input", "1x28x28"]) == 0
    out = capsys.readouterr().out
    assert "Total params: 431,080" in out and "Total mult-adds (M): 2.29" in out


def test_summary_num_classes_and_small_input(capsys):
    assert main(["summary", "resnet18", "--input", "1x28x28", "--num-classes", "10"]) == 0
    out = capsys.readouterr().out
    # small stem chosen for 28×28: conv1 is 3×3 on one channel; fc 512→10
    assert f"Total params: {11_689_512 - 3 * 64 * 49 + 64 * 9 - 512 * 1000 - 1000 + 512 * 10 + 10:,}" in out


def test_summary_list_and_unknown(capsys):
    assert main(["summary", "--list"]) == 0
    assert "resnet152" in capsys.readouterr().out
    assert main(["summary", "resnet19"]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'resnet19'" in err and "resnet18" in err and "vgg16_bn" in err


def test_convert_torch_command(tmp_path, capsys):
    torch.save(torch.nn.Conv2d(1, 2, 3).state_dict(), tmp_path / "c.pth")
    assert main(["convert-torch", str(tmp_path / "c.pth"), str(tmp_path / "c.safetensors")]) == 0
    assert "2 tensors, 20 values" in capsys.readouterr().out
    assert (tmp_path / "c.safetensors").exists()
    assert main(["convert-torch", str(tmp_path / "none.pth"), str(tmp_path / "x.safetensors")]) == 1
