"""Networks and probabilistic models built from difsci, physics and render."""

from ._char_lstm import CharLSTM as CharLSTM
from ._char_lstm import LSTMLayer as LSTMLayer
from ._char_lstm import Vocabulary as Vocabulary
from ._char_lstm import builtin_corpus as builtin_corpus
from ._char_lstm import generate as generate
from ._char_lstm import sequence_loss as sequence_loss
from ._char_lstm import train_char_lstm as train_char_lstm
from ._char_lstm import window_sampler as window_sampler
