"""Meta-analysis: pooling study estimates (fixed and random effects, meta-regression, Egger's test).

* :mod:`musclecog.meta.effects`: effect sizes from 2x2 counts (``metafor::escalc``: log RR, log OR);
* :mod:`musclecog.meta.models`: the models (``metafor::rma``: FE, REML, DL, PM, ML, Knapp-Hartung,
  Q-profile CI of tau^2, prediction interval, meta-regression) and Egger's test (``regtest``);
* :mod:`musclecog.meta.analysis`: the analysis type ``meta_analysis`` (spec, result, fit, reading the study table).
"""
