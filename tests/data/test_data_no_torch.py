"""The deploy-side rule: edgeseg.data and everything it pulls in run without torch."""

import subprocess
import sys


def test_imports_without_torch():
    """The deploy side: edgeseg.data and everything it pulls in must not need torch."""
    code = ("import sys; sys.modules['torch'] = None\n"
            "import edgeseg.data as d\n"
            "from edgeseg.data import augment, base, cityscapes, folder, png, preview, spec, synthetic, video, voc\n"
            "ds = d.open_dataset('synthetic:2', size=(32, 32)); ds.check()\n"
            "d.SyntheticVideo(0, (32, 32)).frame(0.5)\n"
            "assert sys.modules['torch'] is None\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
