"""NeuMF (He et al., 2017): matrix factorisation beside an MLP over user and item embeddings,
LibAUC's recommendation model for SONG / K-SONG."""
import ast

import torch
from torch import nn

__all__ = ["NeuMF"]


class NeuMF(nn.Module):
    """``forward({'user_id': [B], 'item_id': [B, L]})`` → scores ``[B, L]``. ``layers`` is the MLP's
    sizes as a string (``'[64]'``), as LibAUC takes it."""

    def __init__(self, user_num, item_num, dropout=0.2, emb_size=64, layers="[64]"):
        super().__init__()
        self.user_num, self.item_num, self.emb_size, self.dropout = user_num, item_num, emb_size, dropout
        self.layers = list(ast.literal_eval(layers)) if isinstance(layers, str) else list(layers)
        self.mf_u_embeddings = nn.Embedding(user_num, emb_size)
        self.mf_i_embeddings = nn.Embedding(item_num, emb_size)
        self.mlp_u_embeddings = nn.Embedding(user_num, emb_size)
        self.mlp_i_embeddings = nn.Embedding(item_num, emb_size)
        self.mlp = nn.ModuleList()
        pre = 2 * emb_size
        for size in self.layers:
            self.mlp.append(nn.Linear(pre, size))
            pre = size
        self.dropout_layer = nn.Dropout(p=dropout)
        self.prediction = nn.Linear(pre + emb_size, 1, bias=False)

    def reset_last_layer(self):
        self.prediction.reset_parameters()

    @staticmethod
    def init_weights(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, mean=0.0, std=0.01)
            if getattr(m, "bias", None) is not None:
                nn.init.normal_(m.bias, mean=0.0, std=0.01)

    def forward(self, feed_dict):
        u = feed_dict["user_id"].long()
        i = feed_dict["item_id"].long()
        u = u.unsqueeze(-1).expand(-1, i.shape[1])
        mf = self.mf_u_embeddings(u) * self.mf_i_embeddings(i)
        h = torch.cat([self.mlp_u_embeddings(u), self.mlp_i_embeddings(i)], dim=-1)
        for layer in self.mlp:
            h = self.dropout_layer(layer(h).relu())
        return self.prediction(torch.cat([mf, h], dim=-1)).squeeze(-1)
