"""musclecog: the epidemiology of the muscle-brain axis in ageing, reproducibly.

The library holds every statistic of the pipeline; the Snakemake workflow only moves files.
"""

__version__ = "0.1.0"
