"""Deterministic synthetic Mattermost workspaces, bulk-loaded with COPY (demo and test data)."""

from mmgov_dev.synth.config import SynthConfig, SynthConfigError, SynthSummary, SynthTargetNotEmpty
from mmgov_dev.synth.generator import generate

__all__ = ["SynthConfig", "SynthConfigError", "SynthSummary", "SynthTargetNotEmpty", "generate"]
