"""LibAUC's optimizers on torch tensors (they run wherever the parameters live), over one
shared skeleton: ``from xrisk.optimizers import PESG``."""
from .pesg import PESG
from .pdsca import PDSCA
from .generic import SOAP, SOPA, SOPAs, SOTAs, STACO, SONG, SGD, Adam, AdamW
from .sogclr import SogCLR, iSogCLR, LARS
from .midam import MIDAM, SCENT

__all__ = ["PESG", "PDSCA", "SOAP", "SOPA", "SOPAs", "SOTAs", "STACO", "SONG", "SogCLR", "iSogCLR", "MIDAM", "SCENT",
           "SGD", "Adam", "AdamW", "LARS"]
