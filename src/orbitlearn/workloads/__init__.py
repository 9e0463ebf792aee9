"""orbitlearn.workloads."""

from orbitlearn.workloads.registry import WORKLOADS, build_mission_workload

__all__ = ["WORKLOADS", "build_mission_workload"]
