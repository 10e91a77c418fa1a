"""Solvers layer: exact finite-alphabet rate-distortion solvers with certified bounds."""

from rdlab.solvers._kernel import check_memory, estimate_memory_bytes
from rdlab.solvers.blahut_arimoto import (
    blahut_arimoto,
    blahut_arimoto_at_distortion,
    blahut_arimoto_empirical,
    distortion_range,
    empirical_rate_distortion_curve,
    rate_distortion_curve,
    rate_distortion_solutions,
)
from rdlab.solvers.ecot import (
    MAX_LP_COLUMNS,
    MAX_PROGRAM_CELLS,
    BinaryNCRProgramResult,
    CRLPResult,
    binary_cr_lp,
    binary_ncr_program,
    cr_distortion_lp,
    deterministic_maps,
)

__all__ = [
    "MAX_LP_COLUMNS",
    "MAX_PROGRAM_CELLS",
    "BinaryNCRProgramResult",
    "CRLPResult",
    "binary_cr_lp",
    "binary_ncr_program",
    "blahut_arimoto",
    "blahut_arimoto_at_distortion",
    "blahut_arimoto_empirical",
    "check_memory",
    "cr_distortion_lp",
    "deterministic_maps",
    "distortion_range",
    "empirical_rate_distortion_curve",
    "estimate_memory_bytes",
    "rate_distortion_curve",
    "rate_distortion_solutions",
]
