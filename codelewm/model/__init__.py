"""JEPA transition model: encoders, action-conditioned predictor, objective, checkpoints, inference."""
