"""Mendelian randomization.

Two-sample MR on summary statistics (``gwas`` -> ``instruments`` -> ``harmonise`` -> ``analysis``, driven per
pair by ``pipeline``), and one-sample MR on a cohort as the analysis type ``one_sample_mr``
(:func:`musclecog.mr.onesample.fit_one_sample_mr`, registered in :mod:`musclecog.analyses`).
Submodules are imported where they are used, so that reading GWAS files does not pay for scipy/matplotlib.
"""
