"""Nothing silently wrong: NaN weights and NaN outputs are refused, a folder is no output file."""

import argparse
import os

import numpy as np
import onnx
import pytest
import torch

from edgeseg.backends.onnx_meta import set_onnx_meta
from edgeseg.cli import export as command
from edgeseg.errors import ConfigError, ModelError
from edgeseg.export import export_onnx
from edgeseg.export.onnx_export import torch_to_onnx
from edgeseg.export.parity import check_parity
from edgeseg.export.wrapper import ExportWrapper
from edgeseg.meta import ModelMeta

from .export_helpers import TinyNet

META = ModelMeta(model="tiny", classes=("a", "b"), input_size=(32, 32))


def _nan_checkpoint(src, dst) -> str:
    """The good checkpoint with one conv weight filled with NaN, saved as torch.save writes it."""
    ckpt = torch.load(src, map_location="cpu", weights_only=True)
    name = next(k for k, v in ckpt["model"].items() if v.is_floating_point() and v.ndim == 4)
    ckpt["model"][name].fill_(float("nan"))
    torch.save(ckpt, dst)
    return name


def _nan_net(where: str = "weight") -> TinyNet:
    net = TinyNet().eval()
    with torch.no_grad():
        getattr(net.body[0], where).view(-1)[0] = float("nan")
    return net


def test_a_checkpoint_with_nan_weights_is_refused_before_any_export_work(checkpoint, tmp_path):
    bad = tmp_path / "nan.pt"
    name = _nan_checkpoint(checkpoint, bad)
    lines = []
    with pytest.raises(ModelError, match="non-finite") as err:
        export_onnx(bad, tmp_path / "model.onnx", log=lines.append)
    assert name in str(err.value) and "nan.pt" in str(err.value)
    assert lines == [] and not (tmp_path / "model.onnx").exists()


@pytest.mark.parametrize("where", ["weight", "bias"])
def test_a_model_object_with_nan_weights_is_refused_naming_the_tensor(tmp_path, where):
    lines = []
    with pytest.raises(ModelError, match="non-finite") as err:
        export_onnx(_nan_net(where), tmp_path / "m.onnx", meta=META, log=lines.append)
    assert f"body.0.{where}" in str(err.value) and "1 nan" in str(err.value)
    assert lines == [] and os.listdir(tmp_path) == []


def _graph(net, path, output_kind: str) -> ModelMeta:
    """The wrapper graph written straight from the network: the path the export's weight check guards."""
    meta = META.replace(output_kind=output_kind)
    proto = torch_to_onnx(ExportWrapper(net, META, meta).eval(), torch.zeros(1, 3, 32, 32),
                          output_name=output_kind)
    set_onnx_meta(proto, meta)
    onnx.save(proto, path)
    return meta


@pytest.mark.parametrize("output_kind", ["logits", "labels"])
def test_parity_calls_nan_on_both_sides_a_failure_not_a_zero_difference(tmp_path, output_kind):
    net = _nan_net()
    path = str(tmp_path / "nan.onnx")
    meta = _graph(net, path, output_kind)
    with pytest.raises(ModelError, match="not finite") as err:
        check_parity(path, net, META, meta)
    assert "torch" in str(err.value)


def test_parity_names_the_onnx_side_when_only_the_graph_is_nan(tmp_path):
    path = str(tmp_path / "nan.onnx")
    meta = _graph(_nan_net(), path, "logits")
    good = TinyNet().eval()
    with torch.no_grad():
        good.load_state_dict({k: torch.nan_to_num(v) for k, v in _nan_net().state_dict().items()})
    with pytest.raises(ModelError, match="not finite") as err:
        check_parity(path, good, META, meta)
    assert "ONNX Runtime" in str(err.value) and "torch:" not in str(err.value)


def test_parity_still_passes_a_finite_model(tmp_path):
    net = TinyNet().eval()
    path = str(tmp_path / "ok.onnx")
    meta = _graph(net, path, "logits")
    r = check_parity(path, net, META, meta)
    assert r["argmax_agreement"] == 1.0 and np.isfinite(r["max_abs_diff"])


def test_an_out_that_is_a_folder_is_refused_before_exporting(tmp_path):
    (tmp_path / "m.onnx").mkdir()
    lines = []
    with pytest.raises(ConfigError, match="is a folder") as err:
        export_onnx(TinyNet().eval(), tmp_path / "m.onnx", meta=META, log=lines.append)
    assert "m.onnx" in str(err.value) and lines == []
    assert os.listdir(tmp_path) == ["m.onnx"] and os.listdir(tmp_path / "m.onnx") == []


def test_cli_refuses_an_out_folder_at_parse_time(tmp_path, capsys):
    p = argparse.ArgumentParser(prog="edgeseg export")
    command.add_args(p)
    with pytest.raises(SystemExit) as exit_:
        p.parse_args(["best.pt", "--out", str(tmp_path)])
    assert exit_.value.code == 2 and "is a folder" in capsys.readouterr().err
