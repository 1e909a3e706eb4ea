"""Reading checkpoints: a file that needs full unpickling is refused without ever advising to
load it unsafely; a truncated file is named as such."""

import pytest
import torch

from edgeseg.errors import ModelError
from edgeseg.models.weights import read_state_dict
from edgeseg.train.checkpoint import load_checkpoint


class Pickled:
    """Any Python object that weights_only loading refuses to build."""


@pytest.fixture
def pickled(tmp_path):
    path = tmp_path / "pickled.pt"
    torch.save({"model": {"w": torch.ones(1)}, "extra": Pickled()}, path)
    return path


@pytest.mark.parametrize("load", [load_checkpoint, read_state_dict])
def test_a_checkpoint_that_needs_unpickling_is_refused_without_unsafe_advice(load, pickled):
    with pytest.raises(ModelError) as err:
        load(pickled)
    text = str(err.value)
    assert "weights_only" not in text and "trust" not in text and "add_safe_globals" not in text
    assert "not a plain-weights checkpoint" in err.value.what and err.value.path == str(pickled)
    assert "Pickled" in err.value.got  # which object it holds
    assert "state_dict()" in err.value.fix


@pytest.mark.parametrize("load", [load_checkpoint, read_state_dict])
def test_a_truncated_checkpoint_is_named_as_such(load, tmp_path, pickled):
    cut = tmp_path / "cut.pt"
    cut.write_bytes(pickled.read_bytes()[:100])
    with pytest.raises(ModelError) as err:
        load(cut)
    assert "could not read checkpoint" in err.value.what and "truncated" in err.value.fix
    assert "weights_only" not in str(err.value)
