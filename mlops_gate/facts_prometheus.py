"""Fact types read from a live Prometheus and Alertmanager (filled in by the Prometheus provider)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PrometheusState:
    url: str


@dataclass(frozen=True)
class AlertmanagerState:
    url: str
