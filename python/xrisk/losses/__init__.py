"""The X-risk losses with LibAUC 2.0.1's names, arguments and call conventions, as
``torch.nn.Module``s over the Rust kernels (``from xrisk.losses import APLoss``)."""
from .auc import *  # noqa: F401,F403
from .ranking import *  # noqa: F401,F403
from .contrastive import *  # noqa: F401,F403
from .mil import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .xc import *  # noqa: F401,F403
from .surrogate import get_surrogate_loss  # noqa: F401
