"""Bad inputs get EdgesegErrors that say what was expected; failures leave no file behind."""

import os

import numpy as np
import pytest
import torch

from edgeseg.errors import ConfigError, ModelError
from edgeseg.export import export_onnx, exporter, read_onnx_meta, simplify
from edgeseg.export.parity import check_parity
from edgeseg.meta import ModelMeta

from .export_helpers import TinyNet, calibrated

META = ModelMeta(model="tiny", classes=("a", "b"), input_size=(32, 32))


def test_missing_checkpoint(tmp_path):
    with pytest.raises(ModelError, match="checkpoint not found"):
        export_onnx(tmp_path / "nope.pt", tmp_path / "m.onnx", log=None)


def test_unreadable_checkpoint(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="read checkpoint"):
        export_onnx(bad, tmp_path / "m.onnx", log=None)
    assert not (tmp_path / "m.onnx").exists()


def test_batch_and_dynamic_conflict_names_both():
    with pytest.raises(ConfigError) as err:
        export_onnx(TinyNet(), "m.onnx", meta=META, batch=4, dynamic=True, log=None)
    assert "--batch" in str(err.value) and "--dynamic" in str(err.value)


@pytest.mark.parametrize("kw, what", [
    ({"input_dtype": "int8"}, "unknown input dtype"),
    ({"input_dtype": "unit8"}, "did you mean 'uint8'"),
    ({"output_kind": "label"}, "did you mean 'labels'"),
    ({"output_kind": "probs"}, "unknown output kind"),
    ({"color_order": "rgba"}, "unknown color order"),
    ({"opset": 21}, "unsupported --opset"),
    ({"batch": 0}, "--batch must be a positive integer"),
    ({"size": "64 by 64"}, "cannot read the export size"),
    ({"size": "0x64"}, "cannot read the export size"),
    ({"tensorrt": "7"}, "unknown TensorRT target"),
])
def test_unknown_values_are_config_errors(kw, what, tmp_path):
    with pytest.raises(ConfigError, match=what):
        export_onnx(TinyNet(), tmp_path / "m.onnx", meta=META, log=None, **kw)


def test_model_object_needs_a_meta_and_an_onnx_name(tmp_path):
    with pytest.raises(ConfigError, match="needs its meta"):
        export_onnx(TinyNet(), tmp_path / "m.onnx", log=None)
    with pytest.raises(ConfigError, match=r"\.onnx file"):
        export_onnx(TinyNet(), tmp_path / "m.engine", meta=META, log=None)
    with pytest.raises(ConfigError, match="torch network"):
        export_onnx(TinyNet(), tmp_path / "m.onnx", meta=META.replace(input_dtype="uint8"), log=None)


def test_a_size_the_model_cannot_run_is_a_config_error(tmp_path):
    class NeedsMultipleOf4(TinyNet):
        def forward(self, x):
            assert x.shape[-1] % 4 == 0, "width must be a multiple of 4"
            return super().forward(x)
    with pytest.raises(ConfigError, match="cannot run at 32x30"):
        export_onnx(NeedsMultipleOf4(), tmp_path / "m.onnx", meta=META, size=(32, 30), log=None)


def test_failed_simplification_keeps_the_exported_graph_and_says_so(tmp_path, monkeypatch):
    import onnxsim

    def boom(*a, **k):
        raise RuntimeError("cannot fold this")
    monkeypatch.setattr(onnxsim, "simplify", boom)
    lines = []
    r = export_onnx(TinyNet().eval(), tmp_path / "m.onnx", meta=META, log=lines.append)
    assert r.simplified is False and r.parity["argmax_agreement"] == 1.0
    assert any("keeping the unsimplified graph" in line and "cannot fold this" in line for line in lines)
    assert read_onnx_meta(r.path).provenance["export"]["simplified"] is False


def test_simplify_keeps_the_model_when_onnxsim_changes_the_opset(monkeypatch):
    import onnx
    import onnxsim
    from onnx import TensorProto, helper
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    other = onnx.ModelProto()
    other.CopyFrom(model)
    other.opset_import[0].version = 18
    monkeypatch.setattr(onnxsim, "simplify", lambda *a, **k: (other, True))
    out, ok, why = simplify.simplify_model(model)
    assert out is model and not ok and "17 -> 18" in why


def test_parity_failure_raises_and_leaves_no_file(tmp_path, monkeypatch):
    def mismatch(*a, **k):
        raise ModelError("the ONNX model does not match the torch model")
    monkeypatch.setattr(exporter, "check_parity", mismatch)
    with pytest.raises(ModelError, match="does not match"):
        export_onnx(TinyNet().eval(), tmp_path / "m.onnx", meta=META, log=None)
    assert os.listdir(tmp_path) == []  # neither model.onnx nor a temp file


def test_parity_catches_a_real_mismatch(logits_export):
    r, _ = logits_export
    other = calibrated(seed=1)  # same architecture, other weights
    net_meta = r.meta.replace(provenance={})
    with pytest.raises(ModelError, match="does not match") as err:
        check_parity(r.path, other, net_meta, r.meta)
    assert "argmax agreement" in str(err.value) and "max abs diff" in str(err.value)


def test_unsupported_tensorrt_op_fails_export_unless_target_allows_it(tmp_path):
    class WithLayerNorm(TinyNet):
        def __init__(self):
            super().__init__()
            self.norm = torch.nn.LayerNorm(32)  # opset 17 LayerNormalization: TensorRT 10 only

        def forward(self, x):
            return super().forward(self.norm(x))
    net = WithLayerNorm().eval()
    with pytest.raises(ModelError, match="TensorRT cannot parse") as err:
        export_onnx(net, tmp_path / "m.onnx", meta=META, parity=False, log=None)
    assert "LayerNormalization" in str(err.value) and not os.listdir(tmp_path)
    r = export_onnx(net, tmp_path / "m.onnx", meta=META, parity=False, tensorrt="10", log=None)
    assert "LayerNormalization" in r.ops
    lines = []
    export_onnx(net, tmp_path / "m2.onnx", meta=META, parity=False, tensorrt=None, log=lines.append)
    assert any("not parsable by TensorRT 8.5" in line for line in lines)


def test_read_onnx_meta_errors(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        read_onnx_meta(tmp_path / "none.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"\x00junk" * 10)
    with pytest.raises(ModelError):
        read_onnx_meta(tmp_path / "junk.onnx")


def test_labels_dtype_is_int32_on_a_tiny_net(tmp_path):
    r = export_onnx(TinyNet().eval(), tmp_path / "m.onnx", meta=META, output_kind="labels",
                    input_dtype="uint8", log=None)
    from edgeseg.backends import load_backend
    with load_backend(r.path, device="cpu") as b:
        assert b.outputs[0].dtype == "int32" and b.inputs[0].dtype == "uint8"
        assert b.infer(np.zeros((1, 32, 32, 3), np.uint8)).shape == (1, 32, 32)


def test_aux_output_is_left_out_and_the_callers_model_keeps_its_mode(tmp_path):
    class WithAux(TinyNet):
        def forward(self, x):
            out = super().forward(x)
            return {"out": out["out"], "aux": out["out"] * 2}
    net = WithAux().train()
    r = export_onnx(net, tmp_path / "m.onnx", meta=META, log=None)
    import onnx
    assert [o.name for o in onnx.load(r.path).graph.output] == ["logits"]
    assert net.training, "export must hand the model back in train mode"


def test_export_size_is_read_by_the_grammar():
    from edgeseg import export, uri
    from edgeseg.export.options import parse_size
    assert export.parse_size is parse_size  # the public name stays importable
    for text in ("96", "64x96", (64, 96), "64,96"):
        assert parse_size(text) == uri.parse_size(text)
    with pytest.raises(ConfigError) as err:
        parse_size("axb")
    assert err.value.what == "cannot read the export size" and "512x512" in err.value.expected
