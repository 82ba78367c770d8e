"""Dose-response curves: restricted cubic splines of a continuous exposure (analysis type ``dose_response``).

See :mod:`musclecog.doseresponse.analysis` and docs/dose_response.md.
"""

from __future__ import annotations

from musclecog.doseresponse.analysis import DoseResponseResult, DoseResponseSpec, fit_dose_response

__all__ = ["DoseResponseResult", "DoseResponseSpec", "fit_dose_response"]
