"""edgeseg: from a labelled image set to real-time semantic segmentation on the edge."""

import os
import re

from setuptools import find_packages, setup

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "edgeseg", "__init__.py"), encoding="utf-8") as f:
    version = re.search(r'^__version__ = "([^"]+)"', f.read(), re.MULTILINE).group(1)
with open(os.path.join(here, "README.md"), encoding="utf-8") as f:
    long_description = f.read()

extras = {
    # On a CPU-only machine install torch from the CPU wheel first (pip install torch==2.13.0
    # where that wheel is on the index) so no multi-GB CUDA build is pulled in.
    "train": ["torch>=2.1"],
    "onnx": ["onnx>=1.15", "onnxsim>=0.4.33", "onnxruntime>=1.17"],
    # On a Jetson these come with JetPack (python3-libnvinfer, and pycuda in most images):
    # do not pip-install them there. On a desktop they come from NVIDIA's TensorRT wheels.
    "trt": ["tensorrt>=10.0", "pycuda"],
    # cuda-python installs without a GPU; the tests use it to exercise the no-GPU error path.
    # nvidia-modelopt backs --quantizer modelopt; its [onnx] extra would swap onnxruntime for
    # onnxruntime-gpu and pull cupy, so the tests take the packages its ONNX PTQ imports instead
    # (the set modelopt_quantizer.INSTALL_CPU tells users), keeping the CPU onnxruntime.
    # transformers installs beside the CPU torch (timm and segmentation_models_pytorch need torchvision).
    "dev": ["pytest>=7", "pytest-timeout", "cuda-python",
            "nvidia-modelopt==0.47.0", "onnx-graphsurgeon", "onnxslim", "polygraphy", "lief", "ml_dtypes",
            "onnxscript",
            # a model family edgeseg did not build: the foreign-model tests export a tiny random SegFormer
            "transformers", "pillow"],   # pillow: SegformerImageProcessor, which the tests compare with
}
extras["all"] = sorted({req for reqs in extras.values() for req in reqs})

setup(
    name="edgeseg",
    version=version,
    description="Train, export, quantize, build and stream lightweight semantic segmentation "
                "models on Jetson and desktop GPUs",
    long_description=long_description,
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    packages=find_packages(include=["edgeseg", "edgeseg.*"]),
    include_package_data=True,
    install_requires=["numpy>=1.22", "opencv-python>=4.5"],
    extras_require=extras,
    entry_points={"console_scripts": ["edgeseg=edgeseg.cli:console_main"]},
    classifiers=["Programming Language :: Python :: 3",
                 "Topic :: Scientific/Engineering :: Image Recognition"],
)
