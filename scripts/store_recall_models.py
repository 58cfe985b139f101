"""Train the recall models of chapter 14 again and rewrite their stored weights.

    python scripts/store_recall_models.py

Trains every (seed, layers) of ``selfattention.decoder.STORED_RECALL_MODELS`` with the
module's default settings, on one CPU thread (bit for bit the same on any machine with
the same torch), and writes ``src/selfattention/trained/recall-seed*-layers*.npz``.
About half a minute per model on two idle cores. tests/test_decoder.py trains them
again and compares.
"""

from selfattention.decoder import store_all

if __name__ == "__main__":
    store_all()
