"""rnn_core: the seed's recurrent network in NumPy, with exact BPTT and gamma tracing.

The public contract (docs/ARCHITECTURE.md "The public contract of rnn_core"):

    from rnn_core import Vocab, RNN, trace_gammas, sample, save_checkpoint, load_checkpoint
"""

from .checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .model import PARAM_NAMES, RNN
from .sampling import SampledName, greedy, log_prob, sample, sample_with_log_probs
from .trace import GammaTrace, trace_gammas
from .trainer import DivergedError, Trainer
from .vocab import Vocab, VocabError

__all__ = [
    "PARAM_NAMES",
    "RNN",
    "Checkpoint",
    "CheckpointError",
    "DivergedError",
    "GammaTrace",
    "SampledName",
    "TrainConfig",
    "Trainer",
    "Vocab",
    "VocabError",
    "greedy",
    "load_checkpoint",
    "log_prob",
    "sample",
    "sample_with_log_probs",
    "save_checkpoint",
    "trace_gammas",
]
