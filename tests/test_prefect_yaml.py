"""`prefect.yaml` is loaded: every entrypoint imports and names an existing flow, with the
declared parameters and schedules, and says the same as `flows.deployments` (what
`fiduflow serve` serves)."""

import inspect
from pathlib import Path

import pytest
import yaml

from flows.deployments import DEPLOYMENTS, TAGS, TIMEZONE

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = {
    "process-document": None,
    "process-inbox": "*/5 * * * *",
    "remind-missing": "0 7 * * *",
    "send-digests": "0 7 * * *",
    "send-outbox": "* * * * *",
    "close-period": "0 6 2 * *",
    "export-bookings": "30 1 * * *",
}


@pytest.fixture(scope="module")
def config() -> dict:
    return yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def declared(config) -> dict[str, dict]:
    return {d["name"]: d for d in config["deployments"]}


def test_every_deployment_of_the_issue_is_declared(declared):
    assert set(declared) == set(EXPECTED)
    assert {spec.name for spec in DEPLOYMENTS} == set(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_entrypoint_names_a_flow_with_the_declared_parameters(declared, name):
    from prefect import Flow

    deployment = declared[name]
    path = deployment["entrypoint"].split(":")[0]
    assert (ROOT / path).is_file(), f"{path} does not exist"
    spec = next(s for s in DEPLOYMENTS if s.name == name)
    assert spec.entrypoint == deployment["entrypoint"]
    flow = spec.load_flow()
    assert isinstance(flow, Flow)
    assert (
        flow.name == name
    )  # deployment "<flow>/<deployment>" reads e.g. process-inbox/process-inbox

    parameters = deployment.get("parameters") or {}
    assert parameters == spec.parameters
    signature = inspect.signature(flow.fn)
    signature.bind_partial(**parameters)  # every declared parameter exists
    required = {
        p.name for p in signature.parameters.values() if p.default is inspect.Parameter.empty
    }
    if deployment.get("schedules"):
        # A scheduled run has only the declared parameters: they must be enough.
        assert required <= set(parameters), f"{name} needs {required - set(parameters)}"
    flow.validate_parameters(
        {**parameters, **{r: 1 for r in required - set(parameters)}}
    )  # and have acceptable values

    assert deployment["work_pool"]["name"] == "fiduflow"
    assert set(deployment["tags"]) == set(TAGS)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_schedules_are_the_intended_crons_in_zurich_time(declared, name):
    from prefect.client.schemas.schedules import CronSchedule

    schedules = declared[name].get("schedules") or []
    spec = next(s for s in DEPLOYMENTS if s.name == name)
    if EXPECTED[name] is None:
        assert schedules == [] and spec.cron is None
        return
    [schedule] = schedules
    assert schedule["cron"] == EXPECTED[name] == spec.cron
    assert schedule["timezone"] == TIMEZONE == "Europe/Zurich"
    CronSchedule(cron=schedule["cron"], timezone=schedule["timezone"])  # valid


def test_workers_run_from_the_checkout(config):
    [step] = config["pull"]
    assert step["prefect.deployments.steps.set_working_directory"]["directory"] == (
        "{{ $FIDUFLOW_HOME }}"
    )


def test_served_deployments_match(declared):
    from flows.deployments import runner_deployment

    for spec in DEPLOYMENTS:
        deployment = runner_deployment(spec)
        assert deployment.name == spec.name
        assert dict(deployment.parameters) == spec.parameters
        crons = [s.schedule.cron for s in deployment.schedules or []]
        timezones = {s.schedule.timezone for s in deployment.schedules or []}
        assert crons == ([spec.cron] if spec.cron else [])
        assert timezones <= {TIMEZONE}
