"""Neural-network operators: dense and convolution layers, activations, normalisation,
pooling, dropout, embeddings and losses (MXNet's ``FullyConnected``, ``Convolution``, ...)."""
