"""Analysis layer: metrics, KL formulas, latent statistics, embeddings (numpy/sklearn only).

The app calls these for every number and picture it shows; all are pure and tested."""
