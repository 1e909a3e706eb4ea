"""The model zoo (train side; imports torch): MobileNet backbones and segmentation heads.

Backbones: MobileNetV2, MobileNetV3-Large/-Small at output stride 8/16/32. Heads: DeepLabV3,
DeepLabV3+, LR-ASPP, FCN, a light U-Net. Models are built by name from one table; forward
returns ``{"out": logits at input size}`` (plus ``"aux"`` with an aux head), like torchvision,
whose checkpoints load through :func:`load_pretrained`.

>>> import torch
>>> from edgeseg.models import build_model, list_models, model_info
>>> model = build_model("lraspp_mobilenet_v3_small", num_classes=2).eval()
>>> model(torch.zeros(1, 3, 64, 64))["out"].shape
torch.Size([1, 2, 64, 64])
>>> len(list_models()) >= 9, model_info(model, size=(64, 64))["params"]
(True, 1075028)
"""

from .info import model_info
from .model import SegmentationModel
from .registry import build_model, list_models
from .weights import CHECKPOINTS, load_pretrained

__all__ = ["CHECKPOINTS", "SegmentationModel", "build_model", "list_models", "load_pretrained",
           "model_info"]
