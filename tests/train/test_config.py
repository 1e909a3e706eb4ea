"""TrainConfig's size goes through the one HxW grammar (edgeseg.uri.parse_size)."""

import pytest

from edgeseg import uri
from edgeseg.errors import ConfigError
from edgeseg.train.config import TrainConfig, parse_size


@pytest.mark.parametrize("text, size", [("128", (128, 128)), ("128x96", (128, 96)), ((64, 32), (64, 32)),
                                        ([64, 32], (64, 32)), ("64,32", (64, 32))])
def test_sizes(text, size):
    assert parse_size(text) == size == uri.parse_size(text)
    assert TrainConfig(model="m", size=text).size == size


@pytest.mark.parametrize("text", ["big", "0x64", "64x", "1x2x3", (0, 64), (64, 32, 3)])
def test_bad_sizes_say_it_was_the_training_size(text):
    with pytest.raises(ConfigError) as err:
        TrainConfig(model="m", size=text)
    assert err.value.what == "cannot read the training size (--size)" and err.value.got == repr(text)
