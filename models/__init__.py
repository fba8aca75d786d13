"""Offline model tools (`python -m models <cmd>`): export, quantize, fit-whitening, eval-sts,
train-cosent.

These may import torch/transformers; the serving package `app` never imports them.
"""
