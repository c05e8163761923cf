"""The demo gateway: synthetic street-scene cameras served on loopback over WHEP (aiortc) and HLS (PyAV), so the
embedded demo registry plays real streams, including a training site whose cameras fail on purpose."""
