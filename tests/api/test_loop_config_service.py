"""The loop configuration service, called directly (the API and the UI both use it)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from labeling.models import LoopConfig
from labeling.services.loop_config import loop_config_get, loop_config_update


def test_get_creates_the_defaults(world_a):
    LoopConfig.objects.filter(project=world_a.project).delete()
    config = loop_config_get(project=world_a.project)
    assert (config.strategy, config.batch_size, config.ssl_method) == ("hybrid", 20, "simclr")


@pytest.mark.parametrize("who", ["annotator", None])
def test_only_owners_and_engineers_may_update(world_a, who):
    user = getattr(world_a, who) if who else None
    with pytest.raises(PermissionDenied):
        loop_config_update(project=world_a.project, user=user, data={"batch_size": 5})


def test_update_validates_and_fills_strategy_defaults(world_a):
    config = loop_config_update(
        project=world_a.project,
        user=world_a.engineer,
        data={"strategy": "coreset", "ssl_method": "mae", "ssl_backbone": "vit_tiny"},
    )
    import al_engine

    assert config.strategy_params == al_engine.validate_params("coreset", {})
    assert (config.ssl_method, config.ssl_backbone) == ("mae", "vit_tiny")
    with pytest.raises(ValidationError) as error:
        loop_config_update(project=world_a.project, user=world_a.owner, data={"colour": "red"})
    assert "colour" in error.value.message_dict
