"""Optimal-transport sentence distances (WMD, WRD) over token vectors, and reranking with them."""
