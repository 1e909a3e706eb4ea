"""edgeseg: lightweight semantic segmentation from a labelled image set to a camera pipeline.

The top-level package is deploy side: importing it needs only numpy and OpenCV (never torch).

>>> import edgeseg
>>> edgeseg.ModelMeta(model="m", classes=("road",), input_size=(8, 8)).num_classes
1
"""

__version__ = "0.1.0"

from .errors import ConfigError, DataError, EdgesegError, MissingDependencyError, ModelError
from .meta import ModelMeta

__all__ = ["__version__", "ModelMeta", "EdgesegError", "ConfigError", "DataError", "ModelError",
           "MissingDependencyError"]
