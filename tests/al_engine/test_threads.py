"""Thread limits are scoped: the previous setting always comes back."""

from __future__ import annotations

import pytest
import torch

from al_engine import threads


@pytest.mark.parametrize("busy", [True, False])
def test_small_work_runs_on_one_thread_and_the_setting_is_restored(monkeypatch, busy):
    monkeypatch.setattr(threads, "cpu_busy", lambda: busy)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with threads.threads_for(10):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with threads.threads_for(threads.SMALL_ELEMENTS):
            assert torch.get_num_threads() == (1 if busy else 2)
        with pytest.raises(RuntimeError), threads.threads_for(0):
            raise RuntimeError
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
