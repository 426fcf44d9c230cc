"""What intake does with a recorded document (flows/dispatch.py): in serve, wake its
feeder; elsewhere nothing (`auto`, `none`: the workers' feeders find it) or process it in
the intake process (`inline`). Pure: no Prefect, no database."""

import pytest

from domain.settings import Settings
from flows.dispatch import make_dispatcher


class Feeder:
    def __init__(self) -> None:
        self.woken: list[int | None] = []

    def wake(self, document_id: int | None = None) -> None:
        self.woken.append(document_id)


@pytest.mark.parametrize("mode", ["auto", "inline"])
def test_serve_wakes_its_feeder(tmp_path, mode: str) -> None:
    feeder = Feeder()
    dispatch = make_dispatcher(Settings(data_dir=tmp_path, dispatch=mode), feeder)  # type: ignore[arg-type]
    assert dispatch is not None
    dispatch(7)
    assert feeder.woken == [7]


def test_intake_apart_asks_nobody_unless_inline(tmp_path) -> None:
    assert make_dispatcher(Settings(data_dir=tmp_path, dispatch="auto")) is None
    assert make_dispatcher(Settings(data_dir=tmp_path, dispatch="none")) is None
    assert callable(make_dispatcher(Settings(data_dir=tmp_path, dispatch="inline")))


def test_a_mode_that_is_gone_is_refused_with_the_choices(tmp_path) -> None:
    with pytest.raises(ValueError, match=r"auto.*inline.*none"):
        Settings(data_dir=tmp_path, dispatch="hybrid")
