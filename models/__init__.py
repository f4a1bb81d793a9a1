"""Networks and probabilistic models built from difsci, physics and render."""

from ._char_lstm import CharLSTM as CharLSTM
from ._char_lstm import LSTMLayer as LSTMLayer
from ._char_lstm import Vocabulary as Vocabulary
from ._char_lstm import builtin_corpus as builtin_corpus
from ._char_lstm import generate as generate
from ._char_lstm import sequence_loss as sequence_loss
from ._char_lstm import train_char_lstm as train_char_lstm
from ._char_lstm import window_sampler as window_sampler
from ._data import load_digits as load_digits
from ._discrete_vae import CategoricalVAE as CategoricalVAE
from ._discrete_vae import annealed_temperature as annealed_temperature
from ._discrete_vae import discrete_elbo as discrete_elbo
from ._discrete_vae import discrete_vae_loss as discrete_vae_loss
from ._discrete_vae import surrogate_elbo as surrogate_elbo
from ._vae import GaussianVAE as GaussianVAE
from ._vae import elbo as elbo
from ._vae import iwae_bound as iwae_bound
from ._vae import minibatches as minibatches
from ._vae import train_vae as train_vae
from ._vae import vae_loss as vae_loss
from ._surrogate import TrebuchetAimer as TrebuchetAimer
from ._surrogate import evaluate_aimer as evaluate_aimer
from ._surrogate import relative_miss as relative_miss
from ._surrogate import sample_targets as sample_targets
from ._surrogate import train_aimer as train_aimer
