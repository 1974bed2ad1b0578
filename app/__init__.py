"""BPTT Lab's web application: FastAPI around rnn_core (see app/main.py).

NumPy's BLAS would start one thread per core for every small product, and the
training thread shares the machine with the server; one thread is faster here
(docs/ARCHITECTURE.md "Chosen parts"). The variables only take effect if set before NumPy
loads, which is why this package sets them on import; BPTT_LAB_BLAS_THREADS and
threadpoolctl, when installed, adjust them at start-up.
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, os.environ.get("BPTT_LAB_BLAS_THREADS", "1"))
