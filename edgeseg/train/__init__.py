"""Training (train side: imports torch). ``edgeseg train`` is a thin layer over :func:`train`."""

from .checkpoint import build_from_checkpoint, check_finite, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .predictor import TorchPredictor
from .trainer import Trainer, TrainingDiverged, TrainResult, train

__all__ = ["TrainConfig", "Trainer", "TrainResult", "TrainingDiverged", "train", "TorchPredictor",
           "build_from_checkpoint", "check_finite", "load_checkpoint", "save_checkpoint"]
