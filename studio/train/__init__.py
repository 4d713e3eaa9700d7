"""Training: TrainConfig, hardware presets, the run-directory contract, the TRL job and its manager."""
