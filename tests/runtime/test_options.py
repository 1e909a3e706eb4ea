"""The options objects: today's defaults, every bad value and every conflict a ConfigError that
names the option(s), frozen, and importable from where SourceOptions always was."""

import dataclasses

import pytest

from edgeseg.errors import ConfigError
from edgeseg.runtime.options import DEFAULT_CODECS, SinkOptions, SourceOptions, StreamOptions


def test_defaults_are_what_stream_sources_and_sinks_did_before_the_options():
    assert dataclasses.asdict(StreamOptions()) == {
        "policy": "auto", "smooth": 0, "render": "overlay", "alpha": 0.5, "max_frames": None, "reconnect": True,
        "backoff": (0.1, 5.0), "stall_s": 10.0, "queue_size": 2, "report_every": 5.0, "cv_threads": "auto",
        "motion": None, "flow_size": 256, "motion_warp": "labels"}
    assert dataclasses.asdict(SinkOptions()) == {"jpeg_quality": 80, "codec": None, "fps": None}
    src = SourceOptions()
    assert (src.width, src.height, src.fps, src.latency_ms, src.transport, src.timeout_s, src.queue, src.log) == \
        (None, None, None, 200, "tcp", 1.0, 8, print)
    assert DEFAULT_CODECS == {".mp4": "mp4v", ".avi": "MJPG", ".mkv": "mp4v", ".mov": "mp4v"}
    assert SinkOptions().codec_for(".avi") == "MJPG" and SinkOptions(codec="XVID").codec_for(".avi") == "XVID"


@pytest.mark.parametrize("cls, field, value", [
    (StreamOptions, "policy", "newest"), (StreamOptions, "render", "fancy"), (StreamOptions, "smooth", -1),
    (StreamOptions, "smooth", "3"), (StreamOptions, "alpha", 1.5), (StreamOptions, "max_frames", 0),
    (StreamOptions, "reconnect", "yes"), (StreamOptions, "backoff", (0.1,)), (StreamOptions, "backoff", (0, 1)),
    (StreamOptions, "stall_s", 0), (StreamOptions, "queue_size", 0), (StreamOptions, "report_every", -1),
    (StreamOptions, "cv_threads", "many"), (StreamOptions, "cv_threads", -2),
    (SourceOptions, "transport", "quic"), (SourceOptions, "latency_ms", -1), (SourceOptions, "latency_ms", 0.5),
    (SourceOptions, "timeout_s", 0), (SourceOptions, "queue", 0), (SourceOptions, "width", 0),
    (SourceOptions, "fps", -30), (SourceOptions, "log", "stdout"),
    (SinkOptions, "jpeg_quality", 0), (SinkOptions, "jpeg_quality", 101), (SinkOptions, "jpeg_quality", 80.5),
    (SinkOptions, "codec", "H.264"), (SinkOptions, "codec", "mp4"), (SinkOptions, "fps", 0),
])
def test_a_bad_value_is_a_config_error_naming_the_option(cls, field, value):
    with pytest.raises(ConfigError) as exc:
        cls(**{field: value})
    err = exc.value
    assert err.what == f"invalid {cls.__name__}.{field}" and err.got == repr(value) and err.expected
    assert f"{cls.__name__}.{field}" in str(err) and "expected:" in str(err)


def test_good_values_pass():
    StreamOptions(policy="latest", smooth=3, render="none", alpha=0.5, max_frames=1, reconnect=False,
                  backoff=(0.5, 0.5), stall_s=0.5, queue_size=1, report_every=0, cv_threads=None)
    SourceOptions(width=640, height=480, fps=29.97, latency_ms=0, transport="udp", timeout_s=0.1, queue=1, log=None)
    SinkOptions(jpeg_quality=1, codec="XVID", fps=7.5)
    SinkOptions(jpeg_quality=100)


def test_the_overlay_opacity_conflicts_with_a_render_mode_that_draws_no_overlay():
    with pytest.raises(ConfigError) as exc:
        StreamOptions(render="color", alpha=0.3)
    err = exc.value
    assert err.what == "StreamOptions.render conflicts with StreamOptions.alpha"
    assert "render='color'" in err.got and "alpha=0.3" in err.got and err.fix
    StreamOptions(render="color")  # the default opacity is no choice made
    StreamOptions(render="overlay", alpha=0.3)


def test_a_first_reconnect_delay_longer_than_the_longest_is_a_conflict_naming_both():
    with pytest.raises(ConfigError) as exc:
        StreamOptions(backoff=(6.0, 5.0))
    assert "backoff[0]" in exc.value.what and "backoff[1]" in exc.value.what
    assert "backoff[0]=6.0" in exc.value.got and "backoff[1]=5.0" in exc.value.got


def test_options_are_frozen_values():
    o = StreamOptions(smooth=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.smooth = 3
    assert o == StreamOptions(smooth=2) and hash(o) == hash(StreamOptions(smooth=2))
    assert dataclasses.replace(o, smooth=3).smooth == 3
    with pytest.raises(ConfigError, match="smooth"):
        dataclasses.replace(o, smooth=-3)  # replace validates too
    assert StreamOptions(backoff=[0.2, 2.0]).backoff == (0.2, 2.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        SinkOptions().jpeg_quality = 10


def test_source_options_is_still_importable_where_it_was():
    import edgeseg.runtime
    import edgeseg.runtime.capture
    import edgeseg.runtime.source_base
    import edgeseg.runtime.sources
    assert edgeseg.runtime.SourceOptions is edgeseg.runtime.sources.SourceOptions is SourceOptions
    assert edgeseg.runtime.source_base.SourceOptions is edgeseg.runtime.capture.SourceOptions is SourceOptions
    assert edgeseg.runtime.StreamOptions is StreamOptions and edgeseg.runtime.SinkOptions is SinkOptions


def test_open_source_takes_an_options_object_or_keywords_but_not_both():
    from edgeseg.runtime.sources import make_source
    uri = "synthetic://?size=8x8&live=0"
    assert make_source(uri, SourceOptions(fps=5, log=None)).fps == 5.0
    assert make_source(uri, fps=5, log=None).fps == 5.0
    with pytest.raises(ConfigError, match="conflicts") as exc:
        make_source(uri, SourceOptions(log=None), fps=5)
    assert "options=SourceOptions" in exc.value.got and "fps=" in exc.value.got
    with pytest.raises(ConfigError, match="did you mean 'latency_ms'"):
        make_source(uri, latency=5)
