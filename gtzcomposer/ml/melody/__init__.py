"""Melody continuation: grid encoding, style-conditioned Keras model, sampling, critic.

Import the submodules you need; nothing heavy is imported here.
"""
