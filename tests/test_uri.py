"""edgeseg.uri, the one grammar for names: each function on the spellings a user types."""

from pathlib import Path

import pytest

from edgeseg import uri
from edgeseg.errors import ConfigError


# -- file kinds ----------------------------------------------------------------------------------
@pytest.mark.parametrize("path, image, video", [
    ("a.png", True, False), ("dir/B.JPG", True, False), ("x.jpeg", True, False), ("x.bmp", True, False),
    ("scan.tif", True, False), ("scan.TIFF", True, False), ("photo.webp", True, False),
    ("drive.mp4", False, True), ("DRIVE.MKV", False, True), ("a.avi", False, True), ("a.mov", False, True),
    ("a.webm", False, True), ("a.m4v", False, True), ("a.mpg", False, True), ("a.mpeg", False, True),
    ("notes.txt", False, False), ("no_suffix", False, False), ("archive.png.gz", False, False),
    (Path("p/q.png"), True, False),
])
def test_image_and_video_kinds(path, image, video):
    assert uri.is_image(path) is image and uri.is_video(path) is video


def test_suffix_lists_are_lower_case_and_disjoint():
    for suffixes in (uri.IMAGE_SUFFIXES, uri.VIDEO_SUFFIXES, tuple(uri.MODEL_SUFFIXES)):
        assert all(s.startswith(".") and s == s.lower() for s in suffixes)
    assert not set(uri.IMAGE_SUFFIXES) & set(uri.VIDEO_SUFFIXES)
    # data/base.py used to lack these two; every reader now shares the one list.
    assert {".tif", ".webp"} <= set(uri.IMAGE_SUFFIXES)


def test_suffix_and_model_kind():
    assert uri.suffix("a/b.ONNX") == ".onnx" and uri.suffix("a.b/c") == "" and uri.suffix(Path("m.Plan")) == ".plan"
    assert [uri.model_kind(p) for p in ("m.onnx", "m.engine", "m.PLAN", "best.pt", "w.pth")] == \
        ["onnx", "engine", "engine", "checkpoint", "checkpoint"]
    assert uri.model_kind("model.tflite") is None and uri.model_kind("model") is None


# -- did you mean ----------------------------------------------------------------------------------
def test_did_you_mean():
    assert uri.did_you_mean("rtps", ["rtsp", "file"]) == "did you mean 'rtsp'?"
    assert uri.did_you_mean("zzzz", ["rtsp", "file"]) is None
    assert uri.did_you_mean("vco", ["voc"], template="'{}:/data'") == "did you mean 'voc:/data'?"
    assert uri.did_you_mean(3, [1, 3]) == "did you mean '3'?"  # names need not be strings
    # cutoff decides how far a suggestion may be: the backends' and targets' 0.6 is stricter
    assert uri.did_you_mean("ten", ["tensorrt"], cutoff=0.5) is not None
    assert uri.did_you_mean("ten", ["tensorrt"], cutoff=0.6) is None


def test_close_matches():
    known = ["lraspp_small", "lraspp_large", "fcn_large", "unet"]
    assert uri.close_matches("lraspp_smal", known) == ["lraspp_small", "lraspp_large"]
    assert uri.close_matches("lraspp", known, n=1) == ["lraspp_small"]
    assert uri.close_matches("qqqq", known) == []


# -- URIs ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, split", [
    ("rtsp://cam.local:554/live", ("rtsp", "cam.local:554/live")),
    ("RTSP://Cam/Live", ("rtsp", "Cam/Live")),          # the scheme is case-blind, the rest is not
    ("  file://a.mp4 ", ("file", "a.mp4")),
    ("synthetic://?size=4x4", ("synthetic", "?size=4x4")),
    ("clip.mp4", ("", "clip.mp4")),
    ("folder:/data/x", ("", "folder:/data/x")),          # one colon is a short spelling, not a URI
    ("C:\\frames", ("", "C:\\frames")),
    ("2cam://x", ("", "2cam://x")),                      # a scheme starts with a letter
])
def test_split_uri(text, split):
    assert uri.split_uri(text) == split


def test_query_params():
    assert uri.query_params("synthetic://?size=48x64&fps=30") == {"size": "48x64", "fps": "30"}
    assert uri.query_params("file://a.mp4") == {}
    assert uri.query_params("x://p?flag=&name=my%20set") == {"flag": "", "name": "my set"}
    assert uri.query_params("x://p?a=1&a=2") == {"a": "2"}  # the last one wins, as in a dict


def test_unknown_scheme():
    e = uri.unknown_scheme("sources", "rtps", ["rtsp", "file"])
    assert isinstance(e, ConfigError) and e.expected == "file:// | rtsp://" and e.got == "rtps://"
    assert e.fix == "did you mean 'rtsp://'?"
    assert uri.unknown_scheme("sinks", "qqq", ["null"]).fix == "use one of the sinks schemes above"


@pytest.mark.parametrize("text, full", [
    ("0", "v4l2:///dev/video0"), (2, "v4l2:///dev/video2"), ("/dev/video1", "v4l2:///dev/video1"),
    ("v4l2://3", "v4l2:///dev/video3"), ("v4l2:///dev/video0", "v4l2:///dev/video0"),
    ("clip.mp4", "file://clip.mp4"), ("rtspt://cam/live", "rtsp://cam/live"),
    ("csi://0", "csi://0"), ("synthetic://?size=4x4", "synthetic://?size=4x4"),
])
def test_normalize_source(text, full):
    assert uri.normalize_source(text) == full


def test_normalize_source_folder_is_images(tmp_path):
    assert uri.normalize_source(str(tmp_path)) == f"images://{tmp_path}"


def test_normalize_sink():
    assert uri.normalize_sink("out.mp4") == "file://out.mp4"
    assert uri.normalize_sink("masks/") == "masks://masks/"
    assert uri.normalize_sink("display://") == "display://"


@pytest.mark.parametrize("text, host_port", [
    ("http://127.0.0.1:8080", ("127.0.0.1", 8080)),
    ("http://0.0.0.0:1", ("0.0.0.0", 1)),
    ("http://localhost:65535/", ("localhost", 65535)),
    ("http://:9000", ("", 9000)),
    ("http://127.0.0.1", ("127.0.0.1", 8080)),           # no port: the default
    ("http://127.0.0.1:", ("127.0.0.1", 8080)),          # an empty one too, as urllib reads it
    ("http://127.0.0.1:0", ("127.0.0.1", 0)),            # 0: any free port (the tests' and docs' spelling)
    ("http://[::1]:8081/page", ("::1", 8081)),
    ("http://user@cam:81", ("cam", 81)),
])
def test_parse_host_port(text, host_port):
    assert uri.parse_host_port(text, default_port=8080) == host_port


@pytest.mark.parametrize("text, got", [
    ("http://127.0.0.1:99999", "99999"), ("http://127.0.0.1:65536", "65536"), ("http://127.0.0.1:abc", "abc"),
    ("http://127.0.0.1:-5", "-5"), ("http://127.0.0.1:8o8o", "8o8o"), ("http://[::1]:x", "x"),
    ("http://127.0.0.1:1e3", "1e3"), ("http://[::1", "[::1"),
])
def test_parse_host_port_refuses_a_bad_port_naming_it(text, got):
    with pytest.raises(ConfigError, match="port") as exc:
        uri.parse_host_port(text, default_port=8080, what="http:// sink")
    assert got in exc.value.got and "1 to 65535" in exc.value.expected and "http:// sink" in exc.value.what


# -- data specs --------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec, scheme, arg, params", [
    ("synthetic", "synthetic", "", {}),
    ("synthetic:200", "synthetic", "200", {}),
    ("synthetic://", "synthetic", "", {}),
    ("synthetic://?num=5&size=32x32", "synthetic", "", {"num": "5", "size": "32x32"}),
    ("folder:///abs/path", "folder", "/abs/path", {}),
    ("folder:/abs/path", "folder", "/abs/path", {}),
    ("folder:///data/my%20set", "folder", "/data/my set", {}),       # percent-encoded space
    ("folder:/data/my%20set", "folder", "/data/my%20set", {}),       # the short spelling is taken as typed
    ("voc:relative/path", "voc", "relative/path", {}),
    ("voc://relative/path", "voc", "relative/path", {}),
    ("VOC:/data/VOC", "voc", "/data/VOC", {}),
    ("voc:///d/VOC?mask_dir=SegmentationClassAug", "voc", "/d/VOC", {"mask_dir": "SegmentationClassAug"}),
    ("cityscapes:///cs?annotations=gtCoarse", "cityscapes", "/cs", {"annotations": "gtCoarse"}),
    ("  synthetic:3 ", "synthetic", "3", {}),
    ("folder:/x?y", "folder", "/x?y", {}),                            # no query in a short spelling
])
def test_parse_data_spec(spec, scheme, arg, params):
    assert uri.parse_data_spec(spec) == uri.DataSpec(scheme, arg, params)


# -- sizes -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, size", [
    ("256", (256, 256)), (256, (256, 256)), ("480x640", (480, 640)), ("480X640", (480, 640)),
    ("480,640", (480, 640)), (" 64 x 96 ", (64, 96)), ((64, 96), (64, 96)), ([64, 96], (64, 96)),
])
def test_parse_size(text, size):
    assert uri.parse_size(text) == size


@pytest.mark.parametrize("text", ["0x5", "5x0", "-4x4", "axb", "", "1x2x3", "64x", (1, 2, 3), (0, 5), None,
                                  "64.5x64"])
def test_parse_size_refuses(text):
    with pytest.raises(ConfigError, match="cannot read the size") as e:
        uri.parse_size(text)
    assert e.value.got == repr(text)


def test_parse_size_says_what_it_was_reading():
    with pytest.raises(ConfigError) as e:
        uri.parse_size("big", what="export size", example="256x320")
    assert e.value.what == "cannot read the export size" and "256x320" in e.value.expected


def test_format_size_round_trips():
    assert uri.format_size((256, 320)) == "256x320"
    assert uri.parse_size(uri.format_size((48, 64))) == (48, 64)
